// Package persistentvolume binds PersistentVolumeClaims to PersistentVolumes and provisions
// local-path volumes:
//
//   - a claim without a class gets the default StorageClass (retroactively, as upstream);
//   - a pending claim binds to the smallest Available volume that fits (class, access modes,
//     capacity, volumeMode, selector), or to a volume pre-bound to it;
//   - with no fit and the built-in provisioner's class, a hostPath volume is created under
//     LocalPathDir with node affinity to the node — at once for Immediate classes, once the
//     scheduler has picked a node (volume.kubernetes.io/selected-node) for WaitForFirstConsumer;
//   - a volume whose claim is gone is Released, and deleted when its reclaim policy is Delete.
//
// It also makes sure the default `local-path` StorageClass exists.
package persistentvolume

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	storageinformers "k8s.io/client-go/informers/storage/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/klite/klite/internal/controller"
)

// Name is the controller's name for --controllers (upstream's).
const Name = "persistentvolume-binder"

// The built-in provisioner and its default class.
const (
	Provisioner      = "klite.io/local-path"
	DefaultClassName = "local-path"

	annSelectedNode   = "volume.kubernetes.io/selected-node"
	annBindCompleted  = "pv.kubernetes.io/bind-completed"
	annBoundByControl = "pv.kubernetes.io/bound-by-controller"
	annProvisionedBy  = "pv.kubernetes.io/provisioned-by"
	annDefaultClass   = "storageclass.kubernetes.io/is-default-class"
)

// Config is what the controller needs.
type Config struct {
	Client  kubernetes.Interface
	Volumes coreinformers.PersistentVolumeInformer
	Claims  coreinformers.PersistentVolumeClaimInformer
	Classes storageinformers.StorageClassInformer
	// LocalPathDir is where provisioned volumes live on each node (default /var/lib/klite/storage).
	LocalPathDir string
	// NoDefaultClass skips creating the local-path StorageClass.
	NoDefaultClass bool
	Recorder       record.EventRecorder
	Logger         *slog.Logger
}

// Controller is the volume binder and local-path provisioner.
type Controller struct {
	cfg     Config
	volumes corelisters.PersistentVolumeLister
	claims  corelisters.PersistentVolumeClaimLister
	classes storagelisters.StorageClassLister
	loop    *controller.Loop
	log     *slog.Logger
}

// New builds the controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Volumes == nil || cfg.Claims == nil || cfg.Classes == nil {
		return nil, errors.New("persistentvolume: Client, Volumes, Claims and Classes are required")
	}
	if cfg.LocalPathDir == "" {
		cfg.LocalPathDir = "/var/lib/klite/storage"
	}
	if cfg.Recorder == nil {
		cfg.Recorder = &record.FakeRecorder{}
	}
	c := &Controller{cfg: cfg, volumes: cfg.Volumes.Lister(), claims: cfg.Claims.Lister(), classes: cfg.Classes.Lister()}
	// One worker: binding decisions must not race each other for the same volume.
	loop, err := controller.New(controller.Config{Name: Name, Reconciler: c, Workers: 1, Logger: cfg.Logger,
		Synced: []cache.InformerSynced{cfg.Volumes.Informer().HasSynced, cfg.Claims.Informer().HasSynced, cfg.Classes.Informer().HasSynced}})
	if err != nil {
		return nil, err
	}
	c.loop, c.log = loop, loop.Logger()
	enqueue := func(prefix string) cache.ResourceEventHandler {
		add := func(o any) {
			if k, err := cache.DeletionHandlingMetaNamespaceKeyFunc(o); err == nil {
				loop.EnqueueKey(prefix + k)
			}
		}
		return cache.ResourceEventHandlerFuncs{AddFunc: add, UpdateFunc: func(_, o any) { add(o) }, DeleteFunc: add}
	}
	if _, err := cfg.Volumes.Informer().AddEventHandler(enqueue(volumePrefix)); err != nil {
		return nil, err
	}
	if _, err := cfg.Claims.Informer().AddEventHandler(enqueue(claimPrefix)); err != nil {
		return nil, err
	}
	// A deleted claim releases its volume.
	if _, err := cfg.Claims.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: func(o any) {
		if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
			o = t.Obj
		}
		if pvc, ok := o.(*corev1.PersistentVolumeClaim); ok && pvc.Spec.VolumeName != "" {
			loop.EnqueueKey(volumePrefix + pvc.Spec.VolumeName)
		}
	}}); err != nil {
		return nil, err
	}
	// A new class (the default one appearing) may unblock pending claims.
	_, err = cfg.Classes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(any) { c.enqueuePendingClaims() }})
	return c, err
}

const (
	claimPrefix  = "claim:"
	volumePrefix = "volume:"
)

func (c *Controller) enqueuePendingClaims() {
	for _, o := range c.cfg.Claims.Informer().GetStore().List() {
		if pvc := o.(*corev1.PersistentVolumeClaim); pvc.Spec.VolumeName == "" {
			c.loop.EnqueueKey(claimPrefix + pvc.Namespace + "/" + pvc.Name)
		}
	}
}

// Start ensures the default class and runs the controller until ctx is cancelled.
func (c *Controller) Start(ctx context.Context) error {
	if !c.cfg.NoDefaultClass {
		c.ensureDefaultClass(ctx)
	}
	return c.loop.Start(ctx)
}

func (c *Controller) ensureDefaultClass(ctx context.Context) {
	wait := storagev1.VolumeBindingWaitForFirstConsumer
	del := corev1.PersistentVolumeReclaimDelete
	_, err := c.cfg.Client.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
		ObjectMeta:  metav1.ObjectMeta{Name: DefaultClassName, Annotations: map[string]string{annDefaultClass: "true"}},
		Provisioner: Provisioner, ReclaimPolicy: &del, VolumeBindingMode: &wait,
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) && ctx.Err() == nil {
		c.log.Warn("cannot create the default storage class", "err", err)
	}
}

// Reconcile syncs a claim ("claim:ns/name") or a volume ("volume:name").
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	if k, ok := strings.CutPrefix(key, claimPrefix); ok {
		ns, name, _ := cache.SplitMetaNamespaceKey(k)
		pvc, err := c.claims.PersistentVolumeClaims(ns).Get(name)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return c.syncClaim(ctx, pvc.DeepCopy())
	}
	name := strings.TrimPrefix(key, volumePrefix)
	pv, err := c.volumes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return c.syncVolume(ctx, pv.DeepCopy())
}
