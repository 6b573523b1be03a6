package printers

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// nodeLostReason is the status.reason the node lifecycle controller gives pods
// of a node that stopped reporting.
const nodeLostReason = "NodeLost"

func podPrinter() Printer {
	return Printer{
		Columns: cols(
			nameColumn(),
			str("Ready", "The aggregate readiness state of this pod for accepting traffic."),
			str("Status", "The aggregate status of the containers in this pod."),
			str("Restarts", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
			ageColumn(),
			wide(str("IP", corev1.PodStatus{}.SwaggerDoc()["podIP"])),
			wide(str("Node", corev1.PodSpec{}.SwaggerDoc()["nodeName"])),
			wide(str("Nominated Node", corev1.PodStatus{}.SwaggerDoc()["nominatedNodeName"])),
			wide(str("Readiness Gates", corev1.PodSpec{}.SwaggerDoc()["readinessGates"])),
		),
		Cells: simpleCells(podCells),
	}
}

func podCells(pod *corev1.Pod, now time.Time) []interface{} {
	s := summarizePod(pod)
	return []interface{}{
		pod.Name, fmt.Sprintf("%d/%d", s.ready, s.total), s.reason, s.restarts.String(now), age(pod.CreationTimestamp, now),
		podIP(pod), orNone(pod.Spec.NodeName), orNone(pod.Status.NominatedNodeName), readinessGates(pod),
	}
}

// podSummary is what the Ready, Status and Restarts cells say of a pod.
type podSummary struct {
	ready, total int
	reason       string
	restarts     restartTally
}

// restartTally counts container restarts and remembers the latest one.
type restartTally struct {
	count int
	last  metav1.Time
}

func (t *restartTally) add(cs corev1.ContainerStatus) {
	t.count += int(cs.RestartCount)
	if term := cs.LastTerminationState.Terminated; term != nil && t.last.Before(&term.FinishedAt) {
		t.last = term.FinishedAt
	}
}

// String renders the Restarts cell: "3", or "3 (5m ago)" once a restart time is known.
func (t restartTally) String(now time.Time) string {
	if t.count != 0 && !t.last.IsZero() {
		return fmt.Sprintf("%d (%s ago)", t.count, age(t.last, now))
	}
	return fmt.Sprint(t.count)
}

// summarizePod computes the Ready, Status and Restarts cells as upstream does: the phase
// (or status.reason), overridden by the first init container still holding the pod,
// else by the app containers' states, and finally by deletion.
func summarizePod(pod *corev1.Pod) podSummary {
	s := podSummary{total: len(pod.Spec.Containers), reason: initialPodReason(pod)}
	sidecars := sidecarNames(pod.Spec.InitContainers)
	s.total += len(sidecars)
	all, sidecarRestarts, initializing := s.walkInitContainers(pod, sidecars)
	s.restarts = all
	if !initializing || conditionTrue(pod.Status.Conditions, corev1.PodInitialized) {
		// Once initialized, only sidecars among the init containers still count.
		s.restarts = sidecarRestarts
		s.walkContainers(pod)
	}
	s.reason = deletionReason(pod, s.reason)
	return s
}

// initialPodReason is the phase, or status.reason, or SchedulingGated.
func initialPodReason(pod *corev1.Pod) string {
	reason := string(pod.Status.Phase)
	if pod.Status.Reason != "" {
		reason = pod.Status.Reason
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonSchedulingGated {
			reason = corev1.PodReasonSchedulingGated
		}
	}
	return reason
}

// sidecarNames are the restartable init containers (restartPolicy Always).
func sidecarNames(initContainers []corev1.Container) map[string]bool {
	names := map[string]bool{}
	for _, c := range initContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			names[c.Name] = true
		}
	}
	return names
}

// walkInitContainers goes through the init container statuses in order, past the ones that
// completed and the sidecars that started, and stops at the first that holds the pod in
// initialization, setting the reason from it. It counts all restarts and the sidecars'.
func (s *podSummary) walkInitContainers(pod *corev1.Pod, sidecars map[string]bool) (all, sidecar restartTally, initializing bool) {
	for i, cs := range pod.Status.InitContainerStatuses {
		all.add(cs)
		if sidecars[cs.Name] {
			sidecar.add(cs)
		}
		switch {
		case cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0:
			continue
		case sidecars[cs.Name] && cs.Started != nil && *cs.Started:
			if cs.Ready {
				s.ready++
			}
			continue
		}
		s.reason = initContainerReason(i, cs, len(pod.Spec.InitContainers))
		return all, sidecar, true
	}
	return all, sidecar, false
}

// initContainerReason is the status of a pod held by its i-th of n init containers.
func initContainerReason(i int, cs corev1.ContainerStatus, n int) string {
	switch t, w := cs.State.Terminated, cs.State.Waiting; {
	case t != nil:
		return "Init:" + terminatedReason(t)
	case w != nil && w.Reason != "" && w.Reason != "PodInitializing":
		return "Init:" + w.Reason
	}
	return fmt.Sprintf("Init:%d/%d", i, n)
}

// terminatedReason names how a container ended: its reason, else Signal:N, else ExitCode:N.
func terminatedReason(t *corev1.ContainerStateTerminated) string {
	switch {
	case t.Reason != "":
		return t.Reason
	case t.Signal != 0:
		return fmt.Sprintf("Signal:%d", t.Signal)
	}
	return fmt.Sprintf("ExitCode:%d", t.ExitCode)
}

// walkContainers goes through the app container statuses from the last to the first,
// so that the first container's state wins, counting restarts and ready containers.
func (s *podSummary) walkContainers(pod *corev1.Pod) {
	hasRunning, errorReason := false, ""
	statuses := pod.Status.ContainerStatuses
	for i := len(statuses) - 1; i >= 0; i-- {
		cs := statuses[i]
		s.restarts.add(cs)
		switch w, t := cs.State.Waiting, cs.State.Terminated; {
		case w != nil && w.Reason != "":
			s.reason = w.Reason
		case t != nil:
			s.reason = terminatedReason(t)
			if t.ExitCode != 0 {
				errorReason = s.reason
			}
		case cs.Ready && cs.State.Running != nil:
			hasRunning = true
			s.ready++
		}
	}
	if s.reason != "Completed" {
		return
	}
	// A completed container beside running ones: the pod is still up.
	switch {
	case hasRunning && conditionTrue(pod.Status.Conditions, corev1.PodReady):
		s.reason = "Running"
	case errorReason != "":
		s.reason = errorReason
	case hasRunning:
		s.reason = "NotReady"
	}
}

// deletionReason is Unknown for a deleted pod of a lost node, Terminating for
// a deleted pod not yet finished, else reason.
func deletionReason(pod *corev1.Pod, reason string) string {
	if pod.DeletionTimestamp == nil {
		return reason
	}
	if pod.Status.Reason == nodeLostReason {
		return "Unknown"
	}
	if pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
		return "Terminating"
	}
	return reason
}

// conditionTrue tells whether the first condition of type t is True.
func conditionTrue(conditions []corev1.PodCondition, t corev1.PodConditionType) bool {
	for _, c := range conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podIP(pod *corev1.Pod) string {
	if len(pod.Status.PodIPs) > 0 && pod.Status.PodIPs[0].IP != "" {
		return pod.Status.PodIPs[0].IP
	}
	return none
}

// readinessGates renders "true gates/all gates", or <none> without gates.
func readinessGates(pod *corev1.Pod) string {
	if len(pod.Spec.ReadinessGates) == 0 {
		return none
	}
	trueGates := 0
	for _, g := range pod.Spec.ReadinessGates {
		if conditionTrue(pod.Status.Conditions, g.ConditionType) {
			trueGates++
		}
	}
	return fmt.Sprintf("%d/%d", trueGates, len(pod.Spec.ReadinessGates))
}

func orNone(s string) string {
	if s == "" {
		return none
	}
	return s
}

// rowConditions marks the rows of finished pods as Completed, as upstream does.
func rowConditions(gk schema.GroupKind, obj runtime.Object) []metav1.TableRowCondition {
	if gk != (schema.GroupKind{Kind: "Pod"}) {
		return nil
	}
	pod, err := asTyped[corev1.Pod](obj)
	if err != nil {
		return nil
	}
	switch pod.Status.Phase {
	case corev1.PodSucceeded:
		return []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: string(corev1.PodSucceeded), Message: "The pod has completed successfully."}}
	case corev1.PodFailed:
		return []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: string(corev1.PodFailed), Message: "The pod failed."}}
	}
	return nil
}
