package defaultpreemption

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/klite/klite/internal/scheduler/framework"
)

// evict marks victim with a DisruptionTarget condition, as upstream does, then deletes it
// (preemption deletes directly; it does not go through the eviction API).
func (p *DefaultPreemption) evict(ctx context.Context, preemptor, victim *corev1.Pod) error {
	pods := p.h.Client().CoreV1().Pods(victim.Namespace)
	cond := corev1.PodCondition{
		Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: corev1.PodReasonPreemptionByScheduler,
		Message:            preemptor.Spec.SchedulerName + ": preempting to accommodate a higher priority pod",
		LastTransitionTime: metav1.Now(),
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"uid": victim.UID},
		"status": map[string]any{"conditions": []corev1.PodCondition{cond}}})
	if err != nil {
		return err
	}
	_, err = pods.Patch(ctx, victim.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mark %s/%s as a disruption target: %w", victim.Namespace, victim.Name, err)
	}
	err = pods.Delete(ctx, victim.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &victim.UID}})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("preempt %s/%s: %w", victim.Namespace, victim.Name, err)
	}
	p.h.EventRecorder().Eventf(victim, preemptor, corev1.EventTypeNormal, "Preempted", "Preempting",
		"Preempted by pod %v on node %v", preemptor.UID, victim.Spec.NodeName)
	return nil
}

// clearLowerNominations takes node's nomination away from pending pods of lower priority than
// preemptor, as upstream does: the room now goes to preemptor, and they must look again.
func (p *DefaultPreemption) clearLowerNominations(ctx context.Context, preemptor *corev1.Pod, node string) {
	for _, pi := range p.h.NominatedPodsForNode(node) {
		pod := pi.Pod
		if framework.PodPriority(pod) >= framework.PodPriority(preemptor) {
			continue
		}
		patch := fmt.Appendf(nil, `{"metadata":{"uid":%q},"status":{"nominatedNodeName":null}}`, pod.UID)
		_, err := p.h.Client().CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
		if err != nil && !apierrors.IsNotFound(err) {
			slog.Warn("cannot clear nominated node", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		}
	}
}
