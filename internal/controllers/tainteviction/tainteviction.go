// Package tainteviction deletes pods from nodes with NoExecute taints they do not tolerate: at
// once when no toleration matches, or when the shortest matching tolerationSeconds has run out
// since the taint was added (admission gives every pod 300s for not-ready and unreachable).
// Tolerations without tolerationSeconds keep the pod forever.
package tainteviction

import (
	"context"
	"errors"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/klite/klite/internal/controller"
)

// Name is the controller's name for --controllers (upstream's).
const Name = "taint-eviction-controller"

// Config is what the controller needs.
type Config struct {
	Client   kubernetes.Interface
	Nodes    coreinformers.NodeInformer
	Pods     coreinformers.PodInformer
	Recorder record.EventRecorder
	Logger   *slog.Logger
	Now      func() time.Time
}

// Controller is the taint eviction controller.
type Controller struct {
	cfg   Config
	nodes corelisters.NodeLister
	pods  corelisters.PodLister
	idx   cache.Indexer
	loop  *controller.Loop
	log   *slog.Logger
}

// New builds the controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Nodes == nil || cfg.Pods == nil {
		return nil, errors.New("tainteviction: Client, Nodes and Pods are required")
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
	c := &Controller{cfg: cfg, nodes: cfg.Nodes.Lister(), pods: cfg.Pods.Lister(), idx: cfg.Pods.Informer().GetIndexer()}
	loop, err := controller.New(controller.Config{Name: Name, Reconciler: c, Workers: 8, Logger: cfg.Logger,
		Synced: []cache.InformerSynced{cfg.Nodes.Informer().HasSynced, cfg.Pods.Informer().HasSynced}})
	if err != nil {
		return nil, err
	}
	c.loop, c.log = loop, loop.Logger()
	_, err = cfg.Pods.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: func(o any) bool {
			p, ok := o.(*corev1.Pod)
			return ok && p.Spec.NodeName != "" && p.DeletionTimestamp == nil
		},
		Handler: cache.ResourceEventHandlerFuncs{AddFunc: loop.Enqueue, UpdateFunc: func(_, o any) { loop.Enqueue(o) }},
	})
	if err != nil {
		return nil, err
	}
	_, err = cfg.Nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.nodeChanged,
		UpdateFunc: func(o, n any) {
			if !equality.Semantic.DeepEqual(o.(*corev1.Node).Spec.Taints, n.(*corev1.Node).Spec.Taints) {
				c.nodeChanged(n)
			}
		},
	})
	return c, err
}

func (c *Controller) nodeChanged(o any) {
	n := o.(*corev1.Node)
	if len(noExecute(n)) == 0 {
		return
	}
	for _, p := range controller.PodsOnNode(c.idx, n.Name) {
		c.loop.Enqueue(p)
	}
}

// Start runs the controller until ctx is cancelled.
func (c *Controller) Start(ctx context.Context) error { return c.loop.Start(ctx) }

// Reconcile evicts the pod named key if its node's NoExecute taints say so.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	pod, err := c.pods.Pods(ns).Get(name)
	if err != nil || pod.DeletionTimestamp != nil || pod.Spec.NodeName == "" {
		return nil
	}
	node, err := c.nodes.Get(pod.Spec.NodeName)
	if err != nil {
		return nil
	}
	at, evict := evictionTime(pod, noExecute(node), c.cfg.Now())
	if !evict {
		return nil
	}
	if wait := at.Sub(c.cfg.Now()); wait > 0 {
		return controller.RequeueAfter(wait + 50*time.Millisecond)
	}
	c.cfg.Recorder.Eventf(pod, corev1.EventTypeNormal, "TaintManagerEviction", "Marking for deletion Pod %s", key)
	err = c.cfg.Client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pod.UID}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err == nil {
		c.log.Info("evicted pod from tainted node", "pod", key, "node", node.Name)
	}
	return err
}

func noExecute(n *corev1.Node) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoExecute {
			out = append(out, t)
		}
	}
	return out
}

// evictionTime says whether pod must leave a node with these NoExecute taints, and when: now
// if some taint is not tolerated, else when the shortest tolerationSeconds among the matching
// tolerations runs out after its taint was added.
func evictionTime(pod *corev1.Pod, taints []corev1.Taint, now time.Time) (time.Time, bool) {
	var at time.Time
	evict := false
	for i := range taints {
		taint := &taints[i]
		added := now
		if taint.TimeAdded != nil {
			added = taint.TimeAdded.Time
		}
		matched, forever := false, false
		var shortest time.Duration = -1
		for j := range pod.Spec.Tolerations {
			tol := &pod.Spec.Tolerations[j]
			if !tol.ToleratesTaint(klog.Background(), taint, false) {
				continue
			}
			matched = true
			if tol.TolerationSeconds == nil {
				forever = true
				continue
			}
			d := time.Duration(max(*tol.TolerationSeconds, 0)) * time.Second
			if shortest < 0 || d < shortest {
				shortest = d
			}
		}
		switch {
		case !matched:
			return now, true
		case shortest >= 0:
			t := added.Add(shortest)
			if !evict || t.Before(at) {
				at, evict = t, true
			}
		case forever:
		}
	}
	return at, evict
}
