package scheduler

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/klite/klite/internal/scheduler/framework"
)

// registerHandlers wires the informers into the cache and the queue.
func (s *Scheduler) registerHandlers() error {
	f := s.informers
	var podInf cache.SharedIndexInformer
	if s.cfg.Informers != nil {
		podInf = f.Core().V1().Pods().Informer()
	} else {
		podInf = f.InformerFor(&corev1.Pod{}, newPodInformer)
	}
	s.podLister = f.Core().V1().Pods().Lister()
	// A pod that finishes leaves the scheduler's view as if deleted; the server's field selector
	// does that for its own informer, this filter for a shared one that holds every pod.
	if err := s.handle(podInf, cache.FilteringResourceEventHandler{
		FilterFunc: unfinished,
		Handler:    cache.ResourceEventHandlerFuncs{AddFunc: s.onPodAdd, UpdateFunc: s.onPodUpdate, DeleteFunc: s.onPodDelete},
	}); err != nil {
		return err
	}
	if err := s.handle(f.Core().V1().Nodes().Informer(), cache.ResourceEventHandlerFuncs{
		AddFunc: s.onNodeAdd, UpdateFunc: s.onNodeUpdate, DeleteFunc: s.onNodeDelete,
	}); err != nil {
		return err
	}
	for res, inf := range map[framework.EventResource]cache.SharedIndexInformer{
		framework.PersistentVolume:      f.Core().V1().PersistentVolumes().Informer(),
		framework.PersistentVolumeClaim: f.Core().V1().PersistentVolumeClaims().Informer(),
		framework.StorageClass:          f.Storage().V1().StorageClasses().Informer(),
	} {
		move := func(a framework.ActionType) { s.queue.MoveOnEvent(framework.ClusterEvent{Resource: res, Action: a}) }
		if err := s.handle(inf, cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { move(framework.Add) },
			UpdateFunc: func(any, any) { move(framework.Update) },
			DeleteFunc: func(any) { move(framework.Delete) },
		}); err != nil {
			return err
		}
	}
	f.Core().V1().Namespaces().Informer()
	s.priorityClasses = f.Scheduling().V1().PriorityClasses().Lister()
	return nil
}

// handle adds h to inf and remembers when h has seen inf's initial list: an informer's own sync
// says only that its store is filled, not that every handler has been told.
func (s *Scheduler) handle(inf cache.SharedIndexInformer, h cache.ResourceEventHandler) error {
	reg, err := inf.AddEventHandler(h)
	if err == nil {
		s.handled = append(s.handled, reg.HasSynced)
	}
	return err
}

// withPriority fills in spec.priority from the pod's PriorityClass (or the global default
// class) when the API server has not: the priority admission step is upstream's, and a
// scheduler that trusted it blindly would treat every such pod as priority 0.
func (s *Scheduler) withPriority(p *corev1.Pod) *corev1.Pod {
	if p.Spec.Priority != nil {
		return p
	}
	var value *int32
	if p.Spec.PriorityClassName != "" {
		if pc, err := s.priorityClasses.Get(p.Spec.PriorityClassName); err == nil {
			value = &pc.Value
		}
	} else if classes, err := s.priorityClasses.List(labels.Everything()); err == nil {
		for _, pc := range classes {
			if pc.GlobalDefault {
				value = &pc.Value
			}
		}
	}
	if value == nil {
		return p
	}
	c := p.DeepCopy()
	c.Spec.Priority = value
	return c
}

// newPodInformer watches only pods that still hold resources: finished pods are filtered out by
// the API server, as upstream's scheduler does.
func newPodInformer(c kubernetes.Interface, resync time.Duration) cache.SharedIndexInformer {
	selector := "status.phase!=" + string(corev1.PodSucceeded) + ",status.phase!=" + string(corev1.PodFailed)
	return coreinformers.NewFilteredPodInformer(c, metav1.NamespaceAll, resync,
		cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc},
		func(o *metav1.ListOptions) { o.FieldSelector = selector })
}

// unfinished holds the pods that still hold resources (what newPodInformer's selector keeps).
func unfinished(obj any) bool {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	p, ok := obj.(*corev1.Pod)
	return ok && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

func (s *Scheduler) responsible(p *corev1.Pod) bool {
	return s.profiles[p.Spec.SchedulerName] != nil
}

func (s *Scheduler) onPodAdd(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	p = s.withPriority(p)
	if p.Spec.NodeName != "" {
		s.cache.AddPod(p)
		s.queue.MoveOnEvent(framework.ClusterEvent{Resource: framework.Pod, Action: framework.Add})
		return
	}
	if s.responsible(p) && p.DeletionTimestamp == nil {
		s.nominator.update(nil, p)
		s.queue.Add(p)
	}
}

func (s *Scheduler) onPodUpdate(oldObj, newObj any) {
	old, ok1 := oldObj.(*corev1.Pod)
	p, ok2 := newObj.(*corev1.Pod)
	if !ok1 || !ok2 {
		return
	}
	p = s.withPriority(p)
	switch {
	case p.Spec.NodeName != "":
		if old.Spec.NodeName == "" {
			s.queue.Delete(p.UID)
			s.nominator.remove(p.UID)
		}
		s.cache.AddPod(p)
		if old.Spec.NodeName == "" || !apiequality.Semantic.DeepEqual(old.Labels, p.Labels) {
			s.queue.MoveOnEvent(framework.ClusterEvent{Resource: framework.Pod, Action: framework.Update})
		}
	case !s.responsible(p):
	case p.DeletionTimestamp != nil:
		s.queue.Delete(p.UID)
		s.nominator.remove(p.UID)
	default:
		s.nominator.update(old, p)
		s.queue.Update(p)
	}
}

func (s *Scheduler) onPodDelete(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	s.decisions.forget(p.Namespace + "/" + p.Name)
	if p.Spec.NodeName == "" {
		s.queue.Delete(p.UID)
		if s.nominator.nodeFor(p.UID) != "" {
			// The room held for it is free again.
			s.nominator.remove(p.UID)
			s.queue.MoveOnEvent(framework.ClusterEvent{Resource: framework.Pod, Action: framework.Delete})
		}
		return
	}
	s.cache.RemovePod(p)
	s.queue.MoveOnEvent(framework.ClusterEvent{Resource: framework.Pod, Action: framework.Delete})
}

func (s *Scheduler) onNodeAdd(obj any) {
	if n, ok := obj.(*corev1.Node); ok {
		s.cache.AddNode(n)
		s.queue.MoveOnEvent(framework.ClusterEvent{Resource: framework.Node, Action: framework.Add})
	}
}

func (s *Scheduler) onNodeUpdate(oldObj, newObj any) {
	old, ok1 := oldObj.(*corev1.Node)
	n, ok2 := newObj.(*corev1.Node)
	if !ok1 || !ok2 {
		return
	}
	s.cache.AddNode(n)
	if schedulingChanged(old, n) {
		s.queue.MoveOnEvent(framework.ClusterEvent{Resource: framework.Node, Action: framework.Update})
	}
}

// schedulingChanged ignores heartbeats: only what a plugin looks at counts.
func schedulingChanged(a, b *corev1.Node) bool {
	eq := apiequality.Semantic.DeepEqual
	return !eq(a.Labels, b.Labels) || !eq(a.Spec.Taints, b.Spec.Taints) || a.Spec.Unschedulable != b.Spec.Unschedulable ||
		!eq(a.Status.Allocatable, b.Status.Allocatable) || len(a.Status.Images) != len(b.Status.Images)
}

func (s *Scheduler) onNodeDelete(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if n, ok := obj.(*corev1.Node); ok {
		s.cache.RemoveNode(n.Name)
	}
}
