// Package podgc force-deletes pods bound to nodes that no longer exist, so their controllers
// can replace them (nothing else would ever finish their deletion).
package podgc

import (
	"context"
	"errors"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/klite/klite/internal/controller"
)

// Name is the controller's name for --controllers (upstream's).
const Name = "podgc"

// Config is what the controller needs.
type Config struct {
	Client kubernetes.Interface
	Nodes  coreinformers.NodeInformer
	Pods   coreinformers.PodInformer
	Logger *slog.Logger
}

// Controller is the pod garbage collector.
type Controller struct {
	cfg   Config
	nodes corelisters.NodeLister
	pods  corelisters.PodLister
	loop  *controller.Loop
	log   *slog.Logger
}

// New builds the controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Nodes == nil || cfg.Pods == nil {
		return nil, errors.New("podgc: Client, Nodes and Pods are required")
	}
	if err := controller.AddNodeNameIndex(cfg.Pods.Informer()); err != nil {
		return nil, err
	}
	c := &Controller{cfg: cfg, nodes: cfg.Nodes.Lister(), pods: cfg.Pods.Lister()}
	loop, err := controller.New(controller.Config{Name: Name, Reconciler: c, Workers: 4, Logger: cfg.Logger,
		Synced: []cache.InformerSynced{cfg.Nodes.Informer().HasSynced, cfg.Pods.Informer().HasSynced}})
	if err != nil {
		return nil, err
	}
	c.loop, c.log = loop, loop.Logger()
	_, err = cfg.Pods.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: func(o any) bool { p, ok := o.(*corev1.Pod); return ok && p.Spec.NodeName != "" },
		Handler:    cache.ResourceEventHandlerFuncs{AddFunc: loop.Enqueue, UpdateFunc: func(_, o any) { loop.Enqueue(o) }},
	})
	if err != nil {
		return nil, err
	}
	idx := cfg.Pods.Informer().GetIndexer()
	_, err = cfg.Nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: func(o any) {
		if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
			o = t.Obj
		}
		if n, ok := o.(*corev1.Node); ok {
			for _, p := range controller.PodsOnNode(idx, n.Name) {
				loop.Enqueue(p)
			}
		}
	}})
	return c, err
}

// Start runs the controller until ctx is cancelled.
func (c *Controller) Start(ctx context.Context) error { return c.loop.Start(ctx) }

// Reconcile force-deletes the pod named key if its node is gone (confirmed with a live GET).
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	pod, err := c.pods.Pods(ns).Get(name)
	if err != nil || pod.Spec.NodeName == "" {
		return nil
	}
	if _, err := c.nodes.Get(pod.Spec.NodeName); err == nil {
		return nil
	}
	_, err = c.cfg.Client.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		return err
	}
	zero := int64(0)
	err = c.cfg.Client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &pod.UID}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err == nil {
		c.log.Info("deleted orphaned pod", "pod", key, "node", pod.Spec.NodeName)
	}
	return err
}
