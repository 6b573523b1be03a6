package replicaset

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/klite/klite/internal/controller"
)

// computeStatus counts rs's pods and sets or clears the ReplicaFailure condition.
func computeStatus(rs *appsv1.ReplicaSet, pods []*corev1.Pod, manageErr error, now metav1.Time) appsv1.ReplicaSetStatus {
	st := appsv1.ReplicaSetStatus{Replicas: int32(len(pods)), ObservedGeneration: rs.Generation}
	tmpl := labels.Set(rs.Spec.Template.Labels).AsSelectorPreValidated()
	for _, p := range pods {
		if tmpl.Matches(labels.Set(p.Labels)) {
			st.FullyLabeledReplicas++
		}
		if controller.IsPodReady(p) {
			st.ReadyReplicas++
			if controller.IsPodAvailable(p, rs.Spec.MinReadySeconds, now) {
				st.AvailableReplicas++
			}
		}
	}
	for _, c := range rs.Status.Conditions {
		if c.Type != appsv1.ReplicaSetReplicaFailure {
			st.Conditions = append(st.Conditions, c)
		}
	}
	if manageErr != nil {
		reason := "FailedCreate"
		if want := rs.Spec.Replicas; want != nil && int(*want) < len(pods) {
			reason = "FailedDelete"
		}
		cond := appsv1.ReplicaSetCondition{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue, Reason: reason, Message: manageErr.Error(), LastTransitionTime: now}
		for _, c := range rs.Status.Conditions {
			if c.Type == cond.Type && c.Reason == cond.Reason {
				cond.LastTransitionTime = c.LastTransitionTime
			}
		}
		st.Conditions = append(st.Conditions, cond)
	}
	return st
}

// writeStatus updates status when it changed.
func (c *Controller) writeStatus(ctx context.Context, rs *appsv1.ReplicaSet, orig runtime.Object, st appsv1.ReplicaSetStatus) error {
	if equality.Semantic.DeepEqual(rs.Status, st) {
		return nil
	}
	err := c.kind.updateStatus(ctx, orig, st)
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
