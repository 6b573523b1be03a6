// Package nodelifecycle watches node heartbeats — the node's Lease in kube-node-lease and its
// Ready condition's lastHeartbeatTime — and, when neither has moved for the grace period
// (--node-monitor-grace-period, default 40s), sets the node's conditions to Unknown
// ("Kubelet stopped posting node status.") and marks its pods not ready. It keeps the
// node.kubernetes.io/not-ready and unreachable taints (NoSchedule and NoExecute) in step with
// the Ready condition; the taint eviction controller acts on the NoExecute ones.
package nodelifecycle

import (
	"context"
	"errors"
	"log/slog"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	coordinformers "k8s.io/client-go/informers/coordination/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	coordlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/klite/klite/internal/controller"
)

// Name is the controller's name for --controllers.
const Name = "nodelifecycle"

// LeaseNamespace holds the nodes' heartbeat Leases.
const LeaseNamespace = corev1.NamespaceNodeLease

// Config is what the controller needs.
type Config struct {
	Client      kubernetes.Interface
	Nodes       coreinformers.NodeInformer
	Leases      coordinformers.LeaseInformer // in LeaseNamespace
	Pods        coreinformers.PodInformer
	GracePeriod time.Duration // default 40s
	Recorder    record.EventRecorder
	Logger      *slog.Logger
	Now         func() time.Time
}

// Controller is the node lifecycle controller.
type Controller struct {
	cfg    Config
	nodes  corelisters.NodeLister
	leases coordlisters.LeaseLister
	pods   cache.Indexer
	loop   *controller.Loop
	log    *slog.Logger
}

// New builds the controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Nodes == nil || cfg.Leases == nil || cfg.Pods == nil {
		return nil, errors.New("nodelifecycle: Client, Nodes, Leases and Pods are required")
	}
	if cfg.GracePeriod == 0 {
		cfg.GracePeriod = 40 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Recorder == nil {
		cfg.Recorder = &record.FakeRecorder{}
	}
	if err := controller.AddNodeNameIndex(cfg.Pods.Informer()); err != nil {
		return nil, err
	}
	c := &Controller{cfg: cfg, nodes: cfg.Nodes.Lister(), leases: cfg.Leases.Lister(), pods: cfg.Pods.Informer().GetIndexer()}
	loop, err := controller.New(controller.Config{Name: Name, Reconciler: c, Workers: 4, Logger: cfg.Logger,
		Synced: []cache.InformerSynced{cfg.Nodes.Informer().HasSynced, cfg.Leases.Informer().HasSynced, cfg.Pods.Informer().HasSynced}})
	if err != nil {
		return nil, err
	}
	c.loop, c.log = loop, loop.Logger()
	if _, err := cfg.Nodes.Informer().AddEventHandler(loop.Handler()); err != nil {
		return nil, err
	}
	_, err = cfg.Leases.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: func(o any) bool { l, ok := o.(*coordinationv1.Lease); return ok && l.Namespace == LeaseNamespace },
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { loop.EnqueueKey(o.(*coordinationv1.Lease).Name) },
			UpdateFunc: func(_, o any) { loop.EnqueueKey(o.(*coordinationv1.Lease).Name) },
		},
	})
	return c, err
}

// Start runs the controller until ctx is cancelled.
func (c *Controller) Start(ctx context.Context) error { return c.loop.Start(ctx) }

// Reconcile checks the heartbeat of the node named key and updates its conditions and taints.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	node, err := c.nodes.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	now := c.cfg.Now()
	last := c.lastHeartbeat(node)
	expires := last.Add(c.cfg.GracePeriod)
	if !now.Before(expires) {
		if node, err = c.markUnknown(ctx, node, now); err != nil {
			return err
		}
		if err := c.markPodsNotReady(ctx, node.Name); err != nil {
			return err
		}
	}
	if err := c.syncTaints(ctx, node, now); err != nil {
		return err
	}
	if now.Before(expires) {
		return controller.RequeueAfter(expires.Sub(now) + 100*time.Millisecond)
	}
	return nil
}

// lastHeartbeat is the latest of the node's Lease renewal, its Ready heartbeat, and (for a node
// that never reported) its creation.
func (c *Controller) lastHeartbeat(node *corev1.Node) time.Time {
	t := node.CreationTimestamp.Time
	if r := readyCondition(node); r != nil && r.LastHeartbeatTime.After(t) {
		t = r.LastHeartbeatTime.Time
	}
	if l, err := c.leases.Leases(LeaseNamespace).Get(node.Name); err == nil && l.Spec.RenewTime != nil && l.Spec.RenewTime.After(t) {
		t = l.Spec.RenewTime.Time
	}
	return t
}

func readyCondition(node *corev1.Node) *corev1.NodeCondition {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == corev1.NodeReady {
			return &node.Status.Conditions[i]
		}
	}
	return nil
}

// podsOn lists the pods bound to node.
func (c *Controller) podsOn(node string) []*corev1.Pod { return controller.PodsOnNode(c.pods, node) }
