// Package deployment rolls Deployments out through ReplicaSets: one ReplicaSet per pod template
// (named by the template's hash), scaled by the RollingUpdate (maxSurge, maxUnavailable) or
// Recreate strategy; revision annotations and a bounded history so `kubectl rollout
// history|undo` work; pause and resume; proportional scaling while a rollout is in flight; and
// the status counts and the Available and Progressing conditions `kubectl rollout status` reads.
//
// Each pass is level-based: the ReplicaSets the Deployment controls are read from the lister,
// at most one scaling step is taken, and the next one follows the ReplicaSet status update it
// causes.
package deployment

import (
	"context"
	"errors"
	"log/slog"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/klite/klite/internal/controller"
)

// Name is the controller's name for --controllers.
const Name = "deployment"

// Config is what the controller needs.
type Config struct {
	Client      kubernetes.Interface
	Deployments appsinformers.DeploymentInformer
	ReplicaSets appsinformers.ReplicaSetInformer
	Recorder    record.EventRecorder
	Logger      *slog.Logger
	Workers     int
}

// Controller is the Deployment controller.
type Controller struct {
	cfg  Config
	dl   appslisters.DeploymentLister
	rsl  appslisters.ReplicaSetLister
	loop *controller.Loop
	log  *slog.Logger
}

// New builds the controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Deployments == nil || cfg.ReplicaSets == nil {
		return nil, errors.New("deployment: Client, Deployments and ReplicaSets are required")
	}
	if cfg.Recorder == nil {
		cfg.Recorder = &record.FakeRecorder{}
	}
	if cfg.Workers == 0 {
		cfg.Workers = 5
	}
	c := &Controller{cfg: cfg, dl: cfg.Deployments.Lister(), rsl: cfg.ReplicaSets.Lister()}
	loop, err := controller.New(controller.Config{
		Name: Name, Reconciler: c, Workers: cfg.Workers, Logger: cfg.Logger,
		Synced: []cache.InformerSynced{cfg.Deployments.Informer().HasSynced, cfg.ReplicaSets.Informer().HasSynced},
	})
	if err != nil {
		return nil, err
	}
	c.loop, c.log = loop, loop.Logger()
	if _, err := cfg.Deployments.Informer().AddEventHandler(loop.Handler()); err != nil {
		return nil, err
	}
	_, err = cfg.ReplicaSets.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.rsChanged,
		UpdateFunc: func(_, o any) { c.rsChanged(o) },
		DeleteFunc: c.rsChanged,
	})
	return c, err
}

// Start runs the controller until ctx is cancelled.
func (c *Controller) Start(ctx context.Context) error { return c.loop.Start(ctx) }

// rsChanged queues the Deployment controlling rs, or for an orphan every Deployment matching it.
func (c *Controller) rsChanged(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	rs, ok := obj.(*appsv1.ReplicaSet)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOfNoCopy(rs); ref != nil {
		if ref.Kind == "Deployment" {
			c.loop.EnqueueKey(rs.Namespace + "/" + ref.Name)
		}
		return
	}
	ds, _ := c.dl.Deployments(rs.Namespace).List(labels.Everything())
	for _, d := range ds {
		if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil && !sel.Empty() && sel.Matches(labels.Set(rs.Labels)) {
			c.loop.Enqueue(d)
		}
	}
}

// Reconcile syncs the Deployment named key.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	d, err := c.dl.Deployments(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if d.DeletionTimestamp != nil {
		return nil
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || sel.Empty() {
		return nil
	}
	rss, err := c.claimReplicaSets(ctx, d, sel)
	if err != nil {
		return err
	}
	for i := range rss {
		rss[i] = rss[i].DeepCopy() // the pass updates them in place; the cache must stay untouched
	}
	s := &pass{c: c, d: d.DeepCopy(), all: rss}
	return s.run(ctx)
}

// claimReplicaSets adopts and releases ReplicaSets and returns those d controls.
func (c *Controller) claimReplicaSets(ctx context.Context, d *appsv1.Deployment, sel labels.Selector) ([]*appsv1.ReplicaSet, error) {
	all, err := c.rsl.ReplicaSets(d.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	owner := controller.OwnerOf(d, "apps/v1", "Deployment")
	return controller.Claim(ctx, owner, sel, all, func(ctx context.Context, name string, patch []byte) error {
		_, err := c.cfg.Client.AppsV1().ReplicaSets(d.Namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
		return err
	})
}
