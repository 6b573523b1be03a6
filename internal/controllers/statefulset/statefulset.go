// Package statefulset runs StatefulSets: pods with stable names <set>-<ordinal> (hostname the
// same, subdomain the governing service), each with its PersistentVolumeClaims
// <claim>-<set>-<ordinal> created from volumeClaimTemplates and kept on scale-down and
// deletion unless persistentVolumeClaimRetentionPolicy says Delete. OrderedReady creates pods
// one at a time in ordinal order and removes them in reverse; Parallel does all at once.
// Template changes are recorded as ControllerRevisions and rolled out from the highest ordinal
// down to the RollingUpdate partition (or left to manual deletes with OnDelete).
package statefulset

import (
	"context"
	"errors"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/klite/klite/internal/controller"
)

// Name is the controller's name for --controllers.
const Name = "statefulset"

// Config is what the controller needs.
type Config struct {
	Client       kubernetes.Interface
	StatefulSets appsinformers.StatefulSetInformer
	Pods         coreinformers.PodInformer
	Claims       coreinformers.PersistentVolumeClaimInformer
	Revisions    appsinformers.ControllerRevisionInformer
	Recorder     record.EventRecorder
	Logger       *slog.Logger
}

// Controller is the StatefulSet controller.
type Controller struct {
	cfg    Config
	sets   appslisters.StatefulSetLister
	pods   corelisters.PodLister
	claims corelisters.PersistentVolumeClaimLister
	revs   appslisters.ControllerRevisionLister
	loop   *controller.Loop
}

// New builds the controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.StatefulSets == nil || cfg.Pods == nil || cfg.Claims == nil || cfg.Revisions == nil {
		return nil, errors.New("statefulset: Client, StatefulSets, Pods, Claims and Revisions are required")
	}
	if cfg.Recorder == nil {
		cfg.Recorder = &record.FakeRecorder{}
	}
	c := &Controller{cfg: cfg, sets: cfg.StatefulSets.Lister(), pods: cfg.Pods.Lister(), claims: cfg.Claims.Lister(), revs: cfg.Revisions.Lister()}
	loop, err := controller.New(controller.Config{Name: Name, Reconciler: c, Workers: 4, Logger: cfg.Logger,
		Synced: []cache.InformerSynced{cfg.StatefulSets.Informer().HasSynced, cfg.Pods.Informer().HasSynced,
			cfg.Claims.Informer().HasSynced, cfg.Revisions.Informer().HasSynced}})
	if err != nil {
		return nil, err
	}
	c.loop = loop
	if _, err := cfg.StatefulSets.Informer().AddEventHandler(loop.Handler()); err != nil {
		return nil, err
	}
	byOwner := func(o any) {
		if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
			o = t.Obj
		}
		if m, ok := o.(metav1.Object); ok {
			if ref := metav1.GetControllerOfNoCopy(m); ref != nil && ref.Kind == "StatefulSet" {
				loop.EnqueueKey(m.GetNamespace() + "/" + ref.Name)
			}
		}
	}
	_, err = cfg.Pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: byOwner, UpdateFunc: func(_, o any) { byOwner(o) }, DeleteFunc: byOwner,
	})
	return c, err
}

// Start runs the controller until ctx is cancelled.
func (c *Controller) Start(ctx context.Context) error { return c.loop.Start(ctx) }

// Reconcile syncs the StatefulSet named key.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	set, err := c.sets.StatefulSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	all, err := c.pods.Pods(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	var pods []*corev1.Pod
	for _, p := range all {
		if metav1.IsControlledBy(p, set) {
			pods = append(pods, p)
		}
	}
	p := &pass{c: c, set: set.DeepCopy(), pods: pods}
	return p.run(ctx)
}
