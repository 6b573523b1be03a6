// Package daemonset runs one pod of each DaemonSet on every eligible node: nodes its
// nodeSelector, required node affinity and tolerations admit (DaemonSet pods tolerate the
// not-ready, unreachable, pressure and unschedulable taints, as upstream adds). Each pod is
// pinned to its node with a required node affinity on metadata.name and placed by the
// scheduler. Template changes roll out with RollingUpdate (maxUnavailable) or wait for manual
// deletes with OnDelete; status carries the counts `kubectl rollout status ds` reads.
package daemonset

import (
	"context"
	"errors"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
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
const Name = "daemonset"

// Config is what the controller needs.
type Config struct {
	Client     kubernetes.Interface
	DaemonSets appsinformers.DaemonSetInformer
	Nodes      coreinformers.NodeInformer
	Pods       coreinformers.PodInformer
	Recorder   record.EventRecorder
	Logger     *slog.Logger
}

// Controller is the DaemonSet controller.
type Controller struct {
	cfg   Config
	dsl   appslisters.DaemonSetLister
	nodes corelisters.NodeLister
	pods  corelisters.PodLister
	exp   *controller.Expectations
	loop  *controller.Loop
}

// New builds the controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.DaemonSets == nil || cfg.Nodes == nil || cfg.Pods == nil {
		return nil, errors.New("daemonset: Client, DaemonSets, Nodes and Pods are required")
	}
	if cfg.Recorder == nil {
		cfg.Recorder = &record.FakeRecorder{}
	}
	c := &Controller{cfg: cfg, dsl: cfg.DaemonSets.Lister(), nodes: cfg.Nodes.Lister(), pods: cfg.Pods.Lister(), exp: controller.NewExpectations(nil)}
	loop, err := controller.New(controller.Config{Name: Name, Reconciler: c, Workers: 2, Logger: cfg.Logger,
		Synced: []cache.InformerSynced{cfg.DaemonSets.Informer().HasSynced, cfg.Nodes.Informer().HasSynced, cfg.Pods.Informer().HasSynced}})
	if err != nil {
		return nil, err
	}
	c.loop = loop
	if _, err := cfg.DaemonSets.Informer().AddEventHandler(loop.Handler()); err != nil {
		return nil, err
	}
	all := func(any) {
		dss, _ := c.dsl.List(labels.Everything())
		for _, ds := range dss {
			loop.Enqueue(ds)
		}
	}
	if _, err := cfg.Nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: all, UpdateFunc: func(_, n any) { all(n) }, DeleteFunc: all}); err != nil {
		return nil, err
	}
	_, err = cfg.Pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { c.podEvent(o, true) },
		UpdateFunc: func(_, o any) { c.podEvent(o, false) },
		DeleteFunc: func(o any) { c.podEvent(o, false) },
	})
	return c, err
}

func (c *Controller) podEvent(o any, added bool) {
	if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = t.Obj
	}
	pod, ok := o.(*corev1.Pod)
	if !ok {
		return
	}
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil || ref.Kind != "DaemonSet" {
		return
	}
	key := pod.Namespace + "/" + ref.Name
	if added && pod.DeletionTimestamp == nil {
		c.exp.CreationObserved(key)
	} else if !added {
		c.exp.DeletionObserved(key, pod.UID)
	}
	c.loop.EnqueueKey(key)
}

// Start runs the controller until ctx is cancelled.
func (c *Controller) Start(ctx context.Context) error { return c.loop.Start(ctx) }

// Reconcile syncs the DaemonSet named key.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	ds, err := c.dsl.DaemonSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.Forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil || sel.Empty() {
		return nil
	}
	all, err := c.pods.Pods(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	pods, err := controller.Claim(ctx, controller.OwnerOf(ds, "apps/v1", "DaemonSet"), sel, all, func(ctx context.Context, n string, patch []byte) error {
		_, err := c.cfg.Client.CoreV1().Pods(ns).Patch(ctx, n, types.MergePatchType, patch, metav1.PatchOptions{})
		return err
	})
	if err != nil {
		return err
	}
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return err
	}
	p := newPlan(ds, nodes, pods)
	var manageErr error
	if c.exp.Satisfied(key) && ds.DeletionTimestamp == nil {
		manageErr = c.apply(ctx, key, ds, p)
	}
	if err := c.writeStatus(ctx, ds, p); err != nil {
		return err
	}
	return manageErr
}
