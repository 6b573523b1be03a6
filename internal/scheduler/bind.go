package scheduler

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

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
	s.observeCycle(s.cfg.Clock.Since(start))
	s.decisions.record(s.scheduledDecision(qp.Pod, res, start))
	s.bindSlots <- struct{}{} // bounded in-flight bindings keep the API server from thrashing
	s.binding.Go(func() {
		defer func() { <-s.bindSlots }()
		s.bind(ctx, fw, state, qp, assumed, start)
	})
}

func (s *Scheduler) bind(ctx context.Context, fw *framework.Framework, state *framework.CycleState, qp *queue.QueuedPod, assumed *corev1.Pod, start time.Time) {
	node := assumed.Spec.NodeName
	st := fw.RunPreBindPlugins(ctx, state, assumed, node)
	if st.IsSuccess() {
		st = fw.RunBindPlugins(ctx, state, assumed, node)
	}
	if !st.IsSuccess() {
		fw.RunUnreservePlugins(ctx, state, assumed, node)
		s.cache.ForgetPod(assumed)
		s.failed(ctx, fw, nil, qp, fmt.Errorf("binding rejected: %w", st.AsError()), start)
		return
	}
	s.queue.Done(qp.Pod.UID)
	s.observe(s.cfg.Clock.Since(qp.InitialAttempt))
	s.recorders[fw.Profile.SchedulerName].Eventf(qp.Pod, nil, corev1.EventTypeNormal, "Scheduled", "Binding",
		"Successfully assigned %s/%s to %s", qp.Pod.Namespace, qp.Pod.Name, node)
	s.cfg.Logger.Debug("pod bound", "pod", qp.Pod.Namespace+"/"+qp.Pod.Name, "node", node)
}
