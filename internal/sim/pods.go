package sim

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// podHandler queues pods bound to one of our nodes.
func (s *Sim) podHandler() cache.ResourceEventHandler {
	enqueue := func(obj any) {
		if p, ok := obj.(*corev1.Pod); ok && s.byName[p.Spec.NodeName] != nil {
			s.queue.Add(p.Namespace + "/" + p.Name)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	}
}

func (s *Sim) podWorker(ctx context.Context, lister listersv1.PodLister) {
	for {
		key, quit := s.queue.Get()
		if quit {
			return
		}
		if err := s.syncPod(ctx, lister, key); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Debug("pod sync failed, retrying", "pod", key, "err", err)
			s.queue.AddRateLimited(key)
		} else {
			s.queue.Forget(key)
		}
		s.queue.Done(key)
	}
}

// syncPod moves one bound pod along its simulated lifecycle.
func (s *Sim) syncPod(ctx context.Context, lister listersv1.PodLister, key string) error {
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	pod, err := lister.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	n := s.byName[pod.Spec.NodeName]
	switch {
	case n == nil:
		return nil
	case pod.DeletionTimestamp != nil:
		return s.confirmDeletion(ctx, pod)
	case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
		return nil
	case pod.Status.Phase != corev1.PodRunning:
		return s.updateStatus(ctx, pod, s.runningStatus(pod, n))
	case !podReady(pod):
		// Marked not ready while the node was unreachable: a live kubelet reports it ready again.
		return s.updateStatus(ctx, pod, s.readyAgain(pod))
	case pod.Spec.RestartPolicy == corev1.RestartPolicyAlways:
		return nil
	}
	started := pod.Status.StartTime
	if started == nil {
		started = &pod.CreationTimestamp
	}
	if left := s.cfg.JobDuration - s.cfg.Clock.Since(started.Time); left > 0 {
		s.queue.AddAfter(key, left)
		return nil
	}
	return s.updateStatus(ctx, pod, s.succeededStatus(pod))
}

func (s *Sim) confirmDeletion(ctx context.Context, pod *corev1.Pod) error {
	err := s.cfg.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

func (s *Sim) updateStatus(ctx context.Context, pod *corev1.Pod, st corev1.PodStatus) error {
	p := pod.DeepCopy()
	p.Status = st
	_, err := s.cfg.Client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pod %s/%s status: %w", p.Namespace, p.Name, err)
	}
	return nil
}

// runningStatus is a started pod: every init container completed, every container running.
func (s *Sim) runningStatus(pod *corev1.Pod, n *node) corev1.PodStatus {
	now := metav1.NewTime(s.cfg.Clock.Now().Truncate(1e9))
	ip := n.allocIP()
	st := corev1.PodStatus{
		Phase:     corev1.PodRunning,
		HostIP:    n.hostIP,
		HostIPs:   []corev1.HostIP{{IP: n.hostIP}},
		PodIP:     ip,
		PodIPs:    []corev1.PodIP{{IP: ip}},
		StartTime: &now,
		QOSClass:  pod.Status.QOSClass,
	}
	if pod.Spec.HostNetwork {
		st.PodIP, st.PodIPs = n.hostIP, []corev1.PodIP{{IP: n.hostIP}}
	}
	st.Conditions = podConditions(now, corev1.ConditionTrue, "")
	for _, c := range pod.Spec.InitContainers {
		st.InitContainerStatuses = append(st.InitContainerStatuses, containerStatus(c, now, &corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{Reason: "Completed", StartedAt: now, FinishedAt: now},
		}))
	}
	for _, c := range pod.Spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses, containerStatus(c, now, &corev1.ContainerState{
			Running: &corev1.ContainerStateRunning{StartedAt: now},
		}))
	}
	return st
}

// succeededStatus is a finished job pod: every container exited 0.
func (s *Sim) succeededStatus(pod *corev1.Pod) corev1.PodStatus {
	now := metav1.NewTime(s.cfg.Clock.Now().Truncate(1e9))
	st := *pod.Status.DeepCopy()
	st.Phase = corev1.PodSucceeded
	st.Conditions = podConditions(now, corev1.ConditionFalse, "PodCompleted")
	for i := range st.ContainerStatuses {
		cs := &st.ContainerStatuses[i]
		started := now
		if cs.State.Running != nil {
			started = cs.State.Running.StartedAt
		}
		cs.Ready, cs.Started = false, ptr.To(false)
		cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			Reason: "Completed", StartedAt: started, FinishedAt: now, ContainerID: cs.ContainerID,
		}}
	}
	return st
}

func podConditions(now metav1.Time, ready corev1.ConditionStatus, reason string) []corev1.PodCondition {
	c := func(t corev1.PodConditionType, st corev1.ConditionStatus, r string) corev1.PodCondition {
		return corev1.PodCondition{Type: t, Status: st, Reason: r, LastTransitionTime: now}
	}
	return []corev1.PodCondition{
		c(corev1.PodReadyToStartContainers, corev1.ConditionTrue, ""),
		c(corev1.PodInitialized, corev1.ConditionTrue, ""),
		c(corev1.PodReady, ready, reason),
		c(corev1.ContainersReady, ready, reason),
		c(corev1.PodScheduled, corev1.ConditionTrue, ""),
	}
}

func containerStatus(c corev1.Container, _ metav1.Time, state *corev1.ContainerState) corev1.ContainerStatus {
	running := state.Running != nil
	return corev1.ContainerStatus{
		Name:        c.Name,
		Image:       c.Image,
		ImageID:     "sim://" + c.Image,
		ContainerID: "sim://" + c.Name,
		State:       *state,
		Ready:       running,
		Started:     ptr.To(running),
	}
}

// readyAgain is a running pod's status with Ready and ContainersReady true again (same IP,
// same start time).
func (s *Sim) readyAgain(pod *corev1.Pod) corev1.PodStatus {
	st := *pod.Status.DeepCopy()
	now := metav1.NewTime(s.cfg.Clock.Now().Truncate(1e9))
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if (c.Type == corev1.PodReady || c.Type == corev1.ContainersReady) && c.Status != corev1.ConditionTrue {
			c.Status, c.Reason, c.Message, c.LastTransitionTime = corev1.ConditionTrue, "", "", now
		}
	}
	for i := range st.ContainerStatuses {
		st.ContainerStatuses[i].Ready = true
	}
	return st
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
