package scheduler

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/klite/klite/internal/scheduler/framework"
	"github.com/klite/klite/internal/scheduler/queue"
)

// assumeAndBind counts the pod on its node at once, reserves, and binds in the background.
func (s *Scheduler) assumeAndBind(ctx context.Context, fw *framework.Framework, state *framework.CycleState, qp *queue.QueuedPod, res *result, start time.Time) {
	assumed := qp.Pod.DeepCopy()
	assumed.Spec.NodeName = res.node
	if err := s.cache.AssumePod(assumed); err != nil {
		s.failed(ctx, fw, nil, qp, err, start)
		return
	}
	if st := fw.RunReservePlugins(ctx, state, assumed, res.node); !st.IsSuccess() {
		fw.RunUnreservePlugins(ctx, state, assumed, res.node)
		s.cache.ForgetPod(assumed)
		s.failed(ctx, fw, nil, qp, st.AsError(), start)
		return
	}
	nominated := s.nominator.nodeFor(qp.Pod.UID) != "" || qp.Pod.Status.NominatedNodeName != ""
	s.nominator.remove(qp.Pod.UID) // its place is now counted as an assumed pod
	s.observeCycle(s.cfg.Clock.Since(start))
	s.decisions.record(s.scheduledDecision(qp.Pod, res, start))
	s.bindSlots <- struct{}{} // bounded in-flight bindings keep the API server from thrashing
	s.binding.Go(func() {
		defer func() { <-s.bindSlots }()
		if s.bind(ctx, fw, state, qp, assumed, start) && nominated {
			s.clearNomination(ctx, qp.Pod)
		}
	})
}

// bind runs PreBind and Bind; it reports whether the pod was bound.
func (s *Scheduler) bind(ctx context.Context, fw *framework.Framework, state *framework.CycleState, qp *queue.QueuedPod, assumed *corev1.Pod, start time.Time) bool {
	node := assumed.Spec.NodeName
	st := fw.RunPreBindPlugins(ctx, state, assumed, node)
	if st.IsSuccess() {
		st = fw.RunBindPlugins(ctx, state, assumed, node)
	}
	if !st.IsSuccess() {
		fw.RunUnreservePlugins(ctx, state, assumed, node)
		s.cache.ForgetPod(assumed)
		s.failed(ctx, fw, nil, qp, fmt.Errorf("binding rejected: %w", st.AsError()), start)
		return false
	}
	s.queue.Done(qp.Pod.UID)
	s.observe(s.cfg.Clock.Since(qp.InitialAttempt))
	s.recorders[fw.Profile.SchedulerName].Eventf(qp.Pod, nil, corev1.EventTypeNormal, "Scheduled", "Binding",
		"Successfully assigned %s/%s to %s", qp.Pod.Namespace, qp.Pod.Name, node)
	s.cfg.Logger.Debug("pod bound", "pod", qp.Pod.Namespace+"/"+qp.Pod.Name, "node", node)
	return true
}

// clearNomination removes status.nominatedNodeName from a pod that is now bound: the room it
// was held is no longer needed (it may have been bound elsewhere).
func (s *Scheduler) clearNomination(ctx context.Context, pod *corev1.Pod) {
	patch := fmt.Appendf(nil, `{"metadata":{"uid":%q},"status":{"nominatedNodeName":null}}`, pod.UID)
	_, err := s.cfg.Client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
		s.cfg.Logger.Warn("cannot clear nominated node", "pod", pod.Namespace+"/"+pod.Name, "err", err)
	}
}
