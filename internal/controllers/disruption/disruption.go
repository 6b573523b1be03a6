// Package disruption keeps the status of every PodDisruptionBudget: how many of its pods are
// expected and healthy, how many must stay healthy, and so how many voluntary disruptions
// (evictions) it allows right now. The eviction subresource of the API server reads that count,
// decrements it and records the pod it is about to delete in status.disruptedPods; this loop
// recounts from the pods, forgets recorded pods once they are deleted, and expires the ones never
// deleted after DeletionTimeout.
//
//	pods matching spec.selector ──► expected, desired healthy (minAvailable / maxUnavailable,
//	   │                              percentages of the controllers' replicas, rounded up)
//	   └─ Ready, not deleting, not in disruptedPods ──► currentHealthy
//	disruptionsAllowed = max(0, currentHealthy − desiredHealthy)  (0 while no pod is expected)
package disruption

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	policyinformers "k8s.io/client-go/informers/policy/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/klite/klite/internal/controller"
)

// Name is the controller's name for --controllers (upstream's).
const Name = "disruption"

// Config is what the controller needs.
type Config struct {
	Client                 kubernetes.Interface
	PodDisruptionBudgets   policyinformers.PodDisruptionBudgetInformer
	Pods                   coreinformers.PodInformer
	ReplicationControllers coreinformers.ReplicationControllerInformer
	ReplicaSets            appsinformers.ReplicaSetInformer
	Deployments            appsinformers.DeploymentInformer
	StatefulSets           appsinformers.StatefulSetInformer
	Recorder               record.EventRecorder // optional
	Now                    func() time.Time     // default time.Now
	Logger                 *slog.Logger
	Workers                int
}

// Controller is the disruption controller.
type Controller struct {
	cfg    Config
	pdbs   policylisters.PodDisruptionBudgetLister
	pods   corelisters.PodLister
	owners owners
	loop   *controller.Loop
	log    *slog.Logger
}

// New builds the controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.PodDisruptionBudgets == nil || cfg.Pods == nil || cfg.ReplicationControllers == nil ||
		cfg.ReplicaSets == nil || cfg.Deployments == nil || cfg.StatefulSets == nil {
		return nil, errors.New("disruption: Client and the PodDisruptionBudget, Pod, ReplicationController, ReplicaSet, Deployment and StatefulSet informers are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Controller{cfg: cfg, pdbs: cfg.PodDisruptionBudgets.Lister(), pods: cfg.Pods.Lister(), owners: owners{
		rcs: cfg.ReplicationControllers.Lister(), rss: cfg.ReplicaSets.Lister(),
		deployments: cfg.Deployments.Lister(), statefulSets: cfg.StatefulSets.Lister(),
	}}
	synced := []cache.InformerSynced{cfg.PodDisruptionBudgets.Informer().HasSynced, cfg.Pods.Informer().HasSynced}
	for _, inf := range c.ownerInformers() {
		synced = append(synced, inf.HasSynced)
	}
	loop, err := controller.New(controller.Config{Name: Name, Reconciler: c, Workers: cfg.Workers, Logger: cfg.Logger, Synced: synced})
	if err != nil {
		return nil, err
	}
	c.loop, c.log = loop, loop.Logger()
	return c, c.addHandlers()
}

// ownerInformers are the informers of the controllers whose replicas budgets count.
func (c *Controller) ownerInformers() []cache.SharedIndexInformer {
	return []cache.SharedIndexInformer{c.cfg.ReplicationControllers.Informer(), c.cfg.ReplicaSets.Informer(),
		c.cfg.Deployments.Informer(), c.cfg.StatefulSets.Informer()}
}

// addHandlers queues a budget when it changes, when a pod it selects (before or after the
// change) changes, and when a controller in its namespace appears, goes or is rescaled.
func (c *Controller) addHandlers() error {
	if _, err := c.cfg.PodDisruptionBudgets.Informer().AddEventHandler(c.loop.Handler()); err != nil {
		return err
	}
	_, err := c.cfg.Pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueForPod,
		UpdateFunc: func(old, cur any) { c.enqueueForPod(old); c.enqueueForPod(cur) },
		DeleteFunc: c.enqueueForPod,
	})
	if err != nil {
		return err
	}
	ownerHandler := cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueueNamespaceOf,
		UpdateFunc: func(old, cur any) {
			if replicas(old) != replicas(cur) {
				c.enqueueNamespaceOf(cur)
			}
		},
		DeleteFunc: c.enqueueNamespaceOf,
	}
	for _, inf := range c.ownerInformers() {
		if _, err := inf.AddEventHandler(ownerHandler); err != nil {
			return err
		}
	}
	return nil
}

// enqueueForPod queues every budget whose selector matches the pod (policy/v1: an empty
// selector matches every pod of the namespace).
func (c *Controller) enqueueForPod(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	pdbs, _ := c.pdbs.GetPodPodDisruptionBudgets(pod)
	for _, pdb := range pdbs {
		c.loop.Enqueue(pdb)
	}
}

// enqueueNamespaceOf queues the budgets of the object's namespace that count controllers'
// replicas (percentages, maxUnavailable).
func (c *Controller) enqueueNamespaceOf(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	pdbs, _ := c.pdbs.PodDisruptionBudgets(m.GetNamespace()).List(labels.Everything())
	for _, pdb := range pdbs {
		if countsReplicas(&pdb.Spec) {
			c.loop.Enqueue(pdb)
		}
	}
}

func countsReplicas(spec *policyv1.PodDisruptionBudgetSpec) bool {
	return spec.MaxUnavailable != nil || spec.MinAvailable != nil && spec.MinAvailable.Type == intstr.String
}

// Start runs the controller until ctx is cancelled.
func (c *Controller) Start(ctx context.Context) error { return c.loop.Start(ctx) }

// Reconcile recounts the budget named key and writes its status if it changed; it asks to look
// again when the earliest entry of disruptedPods expires.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pdb, err := c.pdbs.PodDisruptionBudgets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	now := c.cfg.Now()
	cnt, recheck, err := c.count(pdb, now)
	if err != nil {
		failed := failedStatus(pdb, err, now)
		if sameStatus(&pdb.Status, &failed) {
			return nil
		}
		c.event(pdb, corev1.EventTypeWarning, "CalculateExpectedPodCountFailed", "Failed to calculate the number of expected pods: "+err.Error())
		return c.writeStatus(ctx, pdb, failed)
	}
	if want := newStatus(pdb, cnt, now); !sameStatus(&pdb.Status, &want) {
		if len(cnt.unmanaged) > 0 {
			c.event(pdb, corev1.EventTypeWarning, "UnmanagedPods", fmt.Sprintf("Pods selected by this PodDisruptionBudget have no controller "+
				"and are not counted: %s. Set .spec.minAvailable to an integer to count them.", strings.Join(cnt.unmanaged, ", ")))
		}
		if err := c.writeStatus(ctx, pdb, want); err != nil {
			return err
		}
	}
	if !recheck.IsZero() {
		return controller.RequeueAfter(recheck.Sub(now))
	}
	return nil
}

// count looks at the budget's pods at now.
func (c *Controller) count(pdb *policyv1.PodDisruptionBudget, now time.Time) (counts, time.Time, error) {
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil {
		return counts{}, time.Time{}, err
	}
	pods, err := c.pods.Pods(pdb.Namespace).List(sel)
	if err != nil {
		return counts{}, time.Time{}, err
	}
	var cnt counts
	cnt.expected, cnt.desired, cnt.unmanaged, err = expectedAndDesired(&pdb.Spec, pods, c.owners.scale)
	if err != nil {
		return counts{}, time.Time{}, err
	}
	var recheck time.Time
	cnt.disrupted, recheck = stillDisrupted(pdb.Status.DisruptedPods, pods, now)
	cnt.healthy = countHealthy(pods, cnt.disrupted)
	return cnt, recheck, nil
}

// writeStatus replaces the budget's status; the write is conditional on the cached
// resourceVersion, so a concurrent eviction makes it conflict and the budget is recounted.
func (c *Controller) writeStatus(ctx context.Context, pdb *policyv1.PodDisruptionBudget, want policyv1.PodDisruptionBudgetStatus) error {
	next := pdb.DeepCopy()
	next.Status = want
	_, err := c.cfg.Client.PolicyV1().PodDisruptionBudgets(pdb.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err == nil {
		c.log.Debug("updated budget status", "pdb", pdb.Namespace+"/"+pdb.Name, "disruptionsAllowed", want.DisruptionsAllowed,
			"currentHealthy", want.CurrentHealthy, "desiredHealthy", want.DesiredHealthy, "expectedPods", want.ExpectedPods)
	}
	return err
}

func (c *Controller) event(obj *policyv1.PodDisruptionBudget, kind, reason, msg string) {
	if c.cfg.Recorder != nil {
		c.cfg.Recorder.Event(obj, kind, reason, msg)
	}
}
