package kubelet

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func sortStrings(s []string) { sort.Strings(s) }

// writeStatus computes the pod's status and writes it unless nothing changed.
func (w *podWorker) writeStatus(ctx context.Context, pod *corev1.Pod, rp *runtimePod, next time.Duration) (time.Duration, error) {
	st := w.podStatus(pod, rp)
	target := pod
	if isStatic(pod) {
		if target = w.k.static.mirrorOf(pod); target == nil {
			return min(next, w.k.cfg.ResyncPeriod), nil // until the mirror exists
		}
	}
	if apiequality.Semantic.DeepEqual(st, target.Status) ||
		w.lastWrite != nil && w.lastWriteUID == target.UID && apiequality.Semantic.DeepEqual(st, *w.lastWrite) {
		return next, nil
	}
	upd := target.DeepCopy()
	upd.Status = st
	_, err := w.k.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return min(next, 200*time.Millisecond), nil // the informer brings the newer pod
	}
	if err != nil {
		return next, err
	}
	w.lastWrite, w.lastWriteUID = &st, target.UID
	return next, nil
}

// podStatus is the status kubectl reads: phase, conditions, IPs and
// container statuses, from what the runtime holds.
func (w *podWorker) podStatus(pod *corev1.Pod, rp *runtimePod) corev1.PodStatus {
	k := w.k
	st := corev1.PodStatus{QOSClass: computeQOS(pod), HostIP: k.nodeIP,
		HostIPs: []corev1.HostIP{{IP: k.nodeIP}}, StartTime: &metav1.Time{Time: w.startTime.Truncate(time.Second)},
		NominatedNodeName: pod.Status.NominatedNodeName}
	if ip := podIP(pod, rp, k.nodeIP); ip != "" {
		st.PodIP, st.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	}
	initDone := true
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cs := w.containerStatus(pod, c, rp, true)
		st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
		if !(isSidecar(c) && cs.Started != nil && *cs.Started) && !(cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0) {
			initDone = false
		}
	}
	for i := range pod.Spec.Containers {
		cs := w.containerStatus(pod, &pod.Spec.Containers[i], rp, initDone)
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	st.Phase = podPhase(pod, rp)
	st.Conditions = w.conditions(pod, rp, &st, initDone)
	if terminal(pod.Status.Phase) {
		st.Phase = pod.Status.Phase
	}
	return st
}

func podIP(pod *corev1.Pod, rp *runtimePod, nodeIP string) string {
	if pod.Spec.HostNetwork {
		return nodeIP
	}
	if rp.sandbox != nil && rp.sandbox.Network != nil {
		return rp.sandbox.Network.Ip
	}
	return pod.Status.PodIP
}

// containerStatus reports one container; canRun is false for containers
// still waiting for init containers (PodInitializing).
func (w *podWorker) containerStatus(pod *corev1.Pod, c *corev1.Container, rp *runtimePod, canRun bool) corev1.ContainerStatus {
	cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, Ready: false, Started: ptrTo(false)}
	latest, prev := rp.latest(c.Name), rp.previous(c.Name)
	if latest != nil && latest.State == runtimeapi.ContainerState_CONTAINER_CREATED {
		latest, prev = prev, nil
	}
	if latest == nil {
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
		if !canRun {
			cs.State.Waiting.Reason = "PodInitializing"
		}
		if wr, ok := w.waiting[c.Name]; ok {
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: wr.reason, Message: wr.message}
		}
		return cs
	}
	cs.RestartCount = int32(latest.Metadata.GetAttempt())
	cs.ContainerID = w.k.rtName + "://" + latest.Id
	cs.ImageID = latest.ImageRef
	if prev != nil && prev.State == runtimeapi.ContainerState_CONTAINER_EXITED {
		cs.LastTerminationState.Terminated = terminatedState(w.k.rtName, prev)
	}
	switch latest.State {
	case runtimeapi.ContainerState_CONTAINER_RUNNING:
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: nanoTime(latest.StartedAt)}
		cs.Started = ptrTo(w.probeResult(latest.Id, probeStartup, c.StartupProbe != nil))
		cs.Ready = *cs.Started && w.probeResult(latest.Id, probeReadiness, c.ReadinessProbe != nil)
	default:
		term := terminatedState(w.k.rtName, latest)
		wr, waiting := w.waiting[c.Name]
		restarting := canRun && shouldRestart(podRestartPolicy(pod, c), latest)
		if waiting && restarting && wr.reason == "CrashLoopBackOff" {
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: wr.reason, Message: wr.message}
			cs.LastTerminationState.Terminated = term
		} else {
			cs.State.Terminated = term
		}
	}
	return cs
}

// podRestartPolicy is the effective policy of a container: sidecars always
// restart, regular init containers restart unless the pod says Never.
func podRestartPolicy(pod *corev1.Pod, c *corev1.Container) corev1.RestartPolicy {
	if isSidecar(c) {
		return corev1.RestartPolicyAlways
	}
	return pod.Spec.RestartPolicy
}

func terminatedState(rtName string, cs *runtimeapi.ContainerStatus) *corev1.ContainerStateTerminated {
	reason := cs.Reason
	if reason == "" {
		reason = "Error"
		if cs.ExitCode == 0 {
			reason = "Completed"
		}
	}
	return &corev1.ContainerStateTerminated{ExitCode: cs.ExitCode, Reason: reason, Message: cs.Message,
		StartedAt: nanoTime(cs.StartedAt), FinishedAt: nanoTime(cs.FinishedAt), ContainerID: rtName + "://" + cs.Id}
}

// nanoTime is a CRI timestamp at the API's one-second precision.
func nanoTime(ns int64) metav1.Time {
	if ns == 0 {
		return metav1.Time{}
	}
	return metav1.Time{Time: time.Unix(0, ns).Truncate(time.Second)}
}

func ptrTo[T any](v T) *T { return &v }

// podPhase derives the phase from the containers and the restart policy.
func podPhase(pod *corev1.Pod, rp *runtimePod) corev1.PodPhase {
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cs := rp.latest(c.Name)
		if isSidecar(c) {
			continue
		}
		if cs == nil || cs.State != runtimeapi.ContainerState_CONTAINER_EXITED {
			return corev1.PodPending
		}
		if cs.ExitCode != 0 {
			if pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
				return corev1.PodFailed
			}
			return corev1.PodPending
		}
	}
	running, succeeded, failed, waiting := 0, 0, 0, 0
	for _, c := range pod.Spec.Containers {
		cs := rp.latest(c.Name)
		switch {
		case cs == nil || cs.State == runtimeapi.ContainerState_CONTAINER_CREATED:
			waiting++
		case cs.State == runtimeapi.ContainerState_CONTAINER_RUNNING:
			running++
		case cs.ExitCode == 0:
			succeeded++
		default:
			failed++
		}
	}
	switch {
	case waiting > 0 && running+succeeded+failed == 0:
		return corev1.PodPending
	case running > 0 || waiting > 0:
		return corev1.PodRunning
	case pod.Spec.RestartPolicy == corev1.RestartPolicyAlways:
		return corev1.PodRunning
	case failed == 0:
		return corev1.PodSucceeded
	case pod.Spec.RestartPolicy == corev1.RestartPolicyNever:
		return corev1.PodFailed
	default:
		return corev1.PodRunning
	}
}

// conditions computes the pod conditions, keeping transition times of
// unchanged ones: those of the status this worker last wrote, else the
// pod's (the informer may not have brought back the last write yet; a
// condition stamped anew would change the transition time and cost a
// write of its own).
func (w *podWorker) conditions(pod *corev1.Pod, rp *runtimePod, st *corev1.PodStatus, initDone bool) []corev1.PodCondition {
	prev := pod.Status.Conditions
	if w.lastWrite != nil {
		prev = w.lastWrite.Conditions
	}
	cond := func(t corev1.PodConditionType, ok bool, reason, msg string) corev1.PodCondition {
		c := corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, Reason: reason, Message: msg}
		if ok {
			c.Status, c.Reason, c.Message = corev1.ConditionTrue, "", ""
		}
		c.LastTransitionTime = metav1.Now().Rfc3339Copy()
		for _, old := range prev {
			if old.Type == t && old.Status == c.Status {
				c.LastTransitionTime, c.LastProbeTime = old.LastTransitionTime, old.LastProbeTime
			}
		}
		return c
	}
	var unready, uninit []string
	for _, cs := range st.ContainerStatuses {
		if !cs.Ready {
			unready = append(unready, cs.Name)
		}
	}
	for _, cs := range st.InitContainerStatuses {
		if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 {
			if cs.Started == nil || !*cs.Started {
				uninit = append(uninit, cs.Name)
			}
		}
	}
	readyReason, readyMsg := "ContainersNotReady", fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))
	if st.Phase == corev1.PodSucceeded || st.Phase == corev1.PodFailed {
		readyReason, readyMsg = "PodCompleted", ""
	}
	ready := len(unready) == 0 && initDone
	return []corev1.PodCondition{
		cond(corev1.PodReadyToStartContainers, rp.sandbox != nil, "", ""),
		cond(corev1.PodInitialized, initDone, "ContainersNotInitialized",
			fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(uninit, " "))),
		cond(corev1.PodReady, ready, readyReason, readyMsg),
		cond(corev1.ContainersReady, ready, readyReason, readyMsg),
		cond(corev1.PodScheduled, true, "", ""),
	}
}
