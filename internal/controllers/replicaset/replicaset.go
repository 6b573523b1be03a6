// Package replicaset keeps ReplicaSets and ReplicationControllers at their replica count: it
// adopts matching orphan pods and releases owned pods that stop matching, creates missing pods
// in slow-start batches, deletes surplus ones least valuable first, and reports replicas, ready,
// available and fully-labeled counts in status. Expectations hold a controller back until its
// informer has seen its own creates and deletes, so it never acts twice on a stale cache.
//
// One package serves both kinds: a ReplicationController is read as a ReplicaSet.
package replicaset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/klite/klite/internal/controller"
)

// Names for --controllers.
const (
	Name   = "replicaset"
	NameRC = "replicationcontroller"
)

// Config is what the controller needs. NewReplicaSet needs ReplicaSets, NewReplicationController
// needs ReplicationControllers.
type Config struct {
	Client                 kubernetes.Interface
	Pods                   coreinformers.PodInformer
	ReplicaSets            appsinformers.ReplicaSetInformer
	ReplicationControllers coreinformers.ReplicationControllerInformer
	Recorder               record.EventRecorder
	Logger                 *slog.Logger
	Workers                int
	// BurstReplicas caps the creates or deletes of one sync (default 500).
	BurstReplicas int
}

// Controller is the ReplicaSet (or ReplicationController) controller.
type Controller struct {
	cfg  Config
	kind workload
	// podIndex finds a controller's pods and the namespace's orphans by ControllerIndex.
	podIndex cache.Indexer
	exp      *controller.Expectations
	loop     *controller.Loop
	log      *slog.Logger
}

// NewReplicaSet builds the ReplicaSet controller and registers its informer handlers.
func NewReplicaSet(cfg Config) (*Controller, error) {
	if cfg.ReplicaSets == nil {
		return nil, errors.New("replicaset: ReplicaSets informer is required")
	}
	inf := cfg.ReplicaSets.Informer()
	return newController(cfg, Name, replicaSets{cfg.Client, cfg.ReplicaSets.Lister()}, inf)
}

// NewReplicationController builds the ReplicationController controller.
func NewReplicationController(cfg Config) (*Controller, error) {
	if cfg.ReplicationControllers == nil {
		return nil, errors.New("replicationcontroller: ReplicationControllers informer is required")
	}
	inf := cfg.ReplicationControllers.Informer()
	return newController(cfg, NameRC, replicationControllers{cfg.Client, cfg.ReplicationControllers.Lister()}, inf)
}

func newController(cfg Config, name string, kind workload, owners cache.SharedIndexInformer) (*Controller, error) {
	if cfg.Client == nil || cfg.Pods == nil {
		return nil, fmt.Errorf("%s: Client and Pods are required", name)
	}
	if cfg.BurstReplicas == 0 {
		cfg.BurstReplicas = 500
	}
	if cfg.Workers == 0 {
		cfg.Workers = 5
	}
	if cfg.Recorder == nil {
		cfg.Recorder = &record.FakeRecorder{}
	}
	if err := controller.AddControllerIndex(cfg.Pods.Informer()); err != nil {
		return nil, err
	}
	c := &Controller{cfg: cfg, kind: kind, podIndex: cfg.Pods.Informer().GetIndexer(), exp: controller.NewExpectations(nil)}
	loop, err := controller.New(controller.Config{
		Name: name, Reconciler: c, Workers: cfg.Workers, Logger: cfg.Logger,
		Synced: []cache.InformerSynced{owners.HasSynced, cfg.Pods.Informer().HasSynced},
	})
	if err != nil {
		return nil, err
	}
	c.loop, c.log = loop, loop.Logger()
	if _, err := owners.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    loop.Enqueue,
		UpdateFunc: func(_, o any) { loop.Enqueue(o) },
		DeleteFunc: func(o any) {
			if k, err := cache.DeletionHandlingMetaNamespaceKeyFunc(o); err == nil {
				c.exp.Forget(k)
			}
			loop.Enqueue(o)
		},
	}); err != nil {
		return nil, err
	}
	_, err = cfg.Pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.podAdded, UpdateFunc: c.podUpdated, DeleteFunc: c.podDeleted,
	})
	return c, err
}

// Start runs the controller until ctx is cancelled.
func (c *Controller) Start(ctx context.Context) error { return c.loop.Start(ctx) }

// Reconcile syncs the ReplicaSet (or ReplicationController) named key.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	rs, orig, err := c.kind.get(ns, name)
	if apierrors.IsNotFound(err) {
		c.exp.Forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	selector, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil || selector.Empty() {
		return nil // invalid selector: validation should have refused it; nothing safe to do
	}
	pods, err := c.claimPods(ctx, rs, selector)
	if err != nil {
		return err
	}
	var manageErr error
	if c.exp.Satisfied(key) && rs.DeletionTimestamp == nil {
		manageErr = c.manage(ctx, key, rs, orig, pods)
	}
	st := computeStatus(rs, pods, manageErr, metav1.Now())
	if err := c.writeStatus(ctx, rs, orig, st); err != nil {
		return err
	}
	if manageErr != nil {
		return manageErr
	}
	if d := c.nextAvailableCheck(rs, pods); d > 0 {
		return controller.RequeueAfter(d)
	}
	return nil
}

// claimPods returns the active pods rs controls, after adoption and release.
func (c *Controller) claimPods(ctx context.Context, rs *appsv1.ReplicaSet, selector labels.Selector) ([]*corev1.Pod, error) {
	var active []*corev1.Pod
	for _, p := range controller.OwnedAndOrphans[*corev1.Pod](c.podIndex, rs.UID, rs.Namespace) {
		if controller.IsPodActive(p) {
			active = append(active, p)
		}
	}
	owner := controller.OwnerOf(rs, c.kind.apiVersion(), c.kind.kind())
	return controller.Claim(ctx, owner, selector, active, func(ctx context.Context, name string, patch []byte) error {
		_, err := c.cfg.Client.CoreV1().Pods(rs.Namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
		return err
	})
}

// nextAvailableCheck: with minReadySeconds, when a ready pod becomes available.
func (c *Controller) nextAvailableCheck(rs *appsv1.ReplicaSet, pods []*corev1.Pod) time.Duration {
	if rs.Spec.MinReadySeconds == 0 {
		return 0
	}
	now := metav1.Now()
	for _, p := range pods {
		if controller.IsPodReady(p) && !controller.IsPodAvailable(p, rs.Spec.MinReadySeconds, now) {
			return time.Duration(rs.Spec.MinReadySeconds)*time.Second + 100*time.Millisecond
		}
	}
	return 0
}
