package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/klite/klite/internal/scheduler/framework"
	"github.com/klite/klite/internal/scheduler/queue"
)

// Condition reasons on PodScheduled=False, as upstream.
const (
	ReasonUnschedulable  = "Unschedulable"
	ReasonSchedulerError = "SchedulerError"
)

// failed handles a pod that could not be placed or bound: preemption, event, condition, requeue.
func (s *Scheduler) failed(ctx context.Context, fw *framework.Framework, state *framework.CycleState, qp *queue.QueuedPod, err error, start time.Time) {
	pod := qp.Pod
	reason := ReasonSchedulerError
	var fitErr *FitError
	var nominated *string // nil: leave status.nominatedNodeName as it is
	if errors.As(err, &fitErr) {
		reason = ReasonUnschedulable
		qp.UnschedulableBy = fitErr.Diagnosis.UnschedulablePlugins
		if node, ran := s.postFilter(ctx, fw, state, pod, fitErr); ran {
			nominated = s.nominate(pod, node)
		}
	} else if errors.Is(err, ErrNoNodesAvailable) {
		reason = ReasonUnschedulable
		qp.UnschedulableBy = nil
	} else {
		qp.UnschedulableBy = nil
	}
	msg := err.Error()
	s.decisions.record(s.failedDecision(pod, fitErr, msg, start))
	s.cfg.Logger.Debug("pod unschedulable", "pod", pod.Namespace+"/"+pod.Name, "reason", msg)
	s.queue.AddUnschedulable(qp)
	s.queue.Done(pod.UID)
	s.recorders[fw.Profile.SchedulerName].Eventf(pod, nil, corev1.EventTypeWarning, "FailedScheduling", "Scheduling", "%s", msg)
	if err := s.setUnschedulable(ctx, pod, reason, msg, nominated); err != nil && ctx.Err() == nil {
		s.cfg.Logger.Warn("cannot update pod condition", "pod", pod.Namespace+"/"+pod.Name, "err", err)
	}
}

// postFilter runs preemption for a pod that fits nowhere and returns the nominated node; ran
// is false when no PostFilter plugin ran.
func (s *Scheduler) postFilter(ctx context.Context, fw *framework.Framework, state *framework.CycleState, pod *corev1.Pod, fitErr *FitError) (node string, ran bool) {
	if !fw.HasPostFilterPlugins() || state == nil {
		return "", false
	}
	statuses := fitErr.Diagnosis.NodeToStatus
	if fitErr.Diagnosis.PreFilterStatus != nil {
		statuses = map[string]*framework.Status{}
		for _, n := range s.snapshot.Load().Nodes {
			statuses[n.Name()] = fitErr.Diagnosis.PreFilterStatus
		}
	}
	node, st := fw.RunPostFilterPlugins(ctx, state, pod, statuses)
	if !st.IsSuccess() {
		fitErr.Diagnosis.PostFilterMsg = st.Message()
	}
	return node, true
}

// nominate records preemption's outcome for pod and returns the nominatedNodeName to write:
// the node preemption made room on; else, while victims on the earlier nominated node are
// still terminating, nil (keep it); else "" (clear it: the pod no longer has room held).
func (s *Scheduler) nominate(pod *corev1.Pod, node string) *string {
	if node == "" && s.awaitingVictims(pod) {
		return nil
	}
	s.nominator.add(pod, node)
	return &node
}

// awaitingVictims reports whether pod's nominated node still has lower-priority pods
// terminating, which preemption evicted for it.
func (s *Scheduler) awaitingVictims(pod *corev1.Pod) bool {
	name := s.nominator.nodeFor(pod.UID)
	if name == "" {
		name = pod.Status.NominatedNodeName
	}
	n := s.snapshot.Load().Get(name)
	if n == nil {
		return false
	}
	for _, pi := range n.Pods {
		if pi.Pod.DeletionTimestamp != nil && framework.PodPriority(pi.Pod) < framework.PodPriority(pod) {
			return true
		}
	}
	return false
}

// setUnschedulable patches PodScheduled=False (and the nominated node, unless nil) unless
// already so.
func (s *Scheduler) setUnschedulable(ctx context.Context, pod *corev1.Pod, reason, msg string, nominated *string) error {
	cur, err := s.podLister.Pods(pod.Namespace).Get(pod.Name)
	if err != nil || cur.UID != pod.UID || cur.Spec.NodeName != "" {
		return nil
	}
	for _, c := range cur.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == reason && c.Message == msg &&
			(nominated == nil || cur.Status.NominatedNodeName == *nominated) {
			return nil
		}
	}
	status := map[string]any{"conditions": []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: reason, Message: msg,
		LastTransitionTime: metav1.NewTime(s.cfg.Clock.Now().Truncate(time.Second)),
	}}}
	if nominated != nil && (*nominated != "" || cur.Status.NominatedNodeName != "") {
		status["nominatedNodeName"] = *nominated
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"uid": pod.UID}, "status": status})
	if err != nil {
		return err
	}
	_, err = s.cfg.Client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}
