package deployment

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/controller"
)

// Condition reasons, as upstream reports them (kubectl rollout status matches on
// ProgressDeadlineExceeded).
const (
	ReasonNewRSAvailable = "NewReplicaSetAvailable"
	ReasonNewRSCreated   = "NewReplicaSetCreated"
	ReasonFoundNewRS     = "FoundNewReplicaSet"
	ReasonRSUpdated      = "ReplicaSetUpdated"
	ReasonTimedOut       = "ProgressDeadlineExceeded"
	ReasonPaused         = "DeploymentPaused"
	ReasonResumed        = "DeploymentResumed"
	ReasonMinAvailable   = "MinimumReplicasAvailable"
	ReasonMinUnavailable = "MinimumReplicasUnavailable"
)

// counts computes the replica counts of the status from the ReplicaSets.
func (p *pass) counts() appsv1.DeploymentStatus {
	st := appsv1.DeploymentStatus{ObservedGeneration: p.d.Generation, CollisionCount: p.d.Status.CollisionCount}
	for _, rs := range p.all {
		st.Replicas += rs.Status.Replicas
		st.ReadyReplicas += rs.Status.ReadyReplicas
		st.AvailableReplicas += rs.Status.AvailableReplicas
	}
	if p.newRS != nil {
		st.UpdatedReplicas = p.newRS.Status.Replicas
	}
	st.UnavailableReplicas = max(0, sumReplicas(p.all)-st.AvailableReplicas)
	return st
}

func (p *pass) complete(st appsv1.DeploymentStatus) bool {
	return st.UpdatedReplicas == p.want() && st.Replicas == p.want() && st.AvailableReplicas == p.want() && st.ObservedGeneration >= p.d.Generation
}

// syncStatus writes the counts and conditions, returning reconcileErr (or a requeue to check
// the progress deadline).
func (p *pass) syncStatus(ctx context.Context, reconcileErr error) error {
	now := metav1.Now()
	st := p.counts()
	st.Conditions = append([]appsv1.DeploymentCondition(nil), p.d.Status.Conditions...)
	p.setAvailable(&st, now)
	requeue := p.setProgressing(&st, now)
	p.setReplicaFailure(&st, now)
	if !equality.Semantic.DeepEqual(p.d.Status, st) {
		next := p.d.DeepCopy()
		next.Status = st
		if _, err := p.c.cfg.Client.AppsV1().Deployments(next.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	if reconcileErr != nil {
		return reconcileErr
	}
	if requeue > 0 {
		return controller.RequeueAfter(requeue)
	}
	return nil
}

func (p *pass) setAvailable(st *appsv1.DeploymentStatus, now metav1.Time) {
	if st.AvailableReplicas >= p.want()-p.maxUnavailable() {
		setCondition(st, appsv1.DeploymentAvailable, corev1.ConditionTrue, ReasonMinAvailable, "Deployment has minimum availability.", now, false)
	} else {
		setCondition(st, appsv1.DeploymentAvailable, corev1.ConditionFalse, ReasonMinUnavailable, "Deployment does not have minimum availability.", now, false)
	}
}

// setProgressing maintains the Progressing condition and returns when to look again for the
// deadline.
func (p *pass) setProgressing(st *appsv1.DeploymentStatus, now metav1.Time) time.Duration {
	cur := getCondition(st.Conditions, appsv1.DeploymentProgressing)
	if p.d.Spec.Paused {
		if cur == nil || cur.Reason != ReasonPaused {
			setCondition(st, appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonPaused, "Deployment is paused", now, true)
		}
		return 0
	}
	if p.d.Spec.ProgressDeadlineSeconds == nil {
		return 0
	}
	if cur != nil && cur.Reason == ReasonPaused {
		setCondition(st, appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonResumed, "Deployment is resumed", now, true)
		return time.Second
	}
	name := ""
	if p.newRS != nil {
		name = p.newRS.Name
	}
	switch {
	case p.complete(*st):
		if cur == nil || cur.Reason != ReasonNewRSAvailable {
			setCondition(st, appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSAvailable, fmt.Sprintf("ReplicaSet %q has successfully progressed.", name), now, true)
		}
		return 0
	case p.createdNew:
		setCondition(st, appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSCreated, fmt.Sprintf("Created new replica set %q", name), now, true)
	case cur == nil && p.newRS != nil:
		setCondition(st, appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonFoundNewRS, fmt.Sprintf("Found new replica set %q", name), now, true)
	case p.progressed(*st):
		setCondition(st, appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonRSUpdated, fmt.Sprintf("ReplicaSet %q is progressing.", name), now, true)
	}
	cur = getCondition(st.Conditions, appsv1.DeploymentProgressing)
	if cur == nil || cur.Reason == ReasonTimedOut || cur.Reason == ReasonNewRSAvailable {
		return 0
	}
	deadline := cur.LastUpdateTime.Add(time.Duration(*p.d.Spec.ProgressDeadlineSeconds) * time.Second)
	if !now.Time.Before(deadline) {
		setCondition(st, appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonTimedOut, fmt.Sprintf("ReplicaSet %q has timed out progressing.", name), now, true)
		p.c.cfg.Recorder.Eventf(p.d, corev1.EventTypeWarning, ReasonTimedOut, "Deployment %q has timed out progressing.", p.d.Name)
		return 0
	}
	return deadline.Sub(now.Time) + 100*time.Millisecond
}

// progressed: the rollout moved since the last status (more updated, ready or available pods,
// or fewer old ones).
func (p *pass) progressed(st appsv1.DeploymentStatus) bool {
	old := p.d.Status
	return st.UpdatedReplicas > old.UpdatedReplicas || st.Replicas-st.UpdatedReplicas < old.Replicas-old.UpdatedReplicas ||
		st.ReadyReplicas > old.ReadyReplicas || st.AvailableReplicas > old.AvailableReplicas
}

// setReplicaFailure mirrors a ReplicaFailure of any ReplicaSet (pods refused by the server).
func (p *pass) setReplicaFailure(st *appsv1.DeploymentStatus, now metav1.Time) {
	for _, rs := range p.all {
		for _, c := range rs.Status.Conditions {
			if c.Type == appsv1.ReplicaSetReplicaFailure && c.Status == corev1.ConditionTrue {
				setCondition(st, appsv1.DeploymentReplicaFailure, corev1.ConditionTrue, c.Reason, c.Message, now, false)
				return
			}
		}
	}
	removeCondition(st, appsv1.DeploymentReplicaFailure)
}

func getCondition(cs []appsv1.DeploymentCondition, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range cs {
		if cs[i].Type == t {
			return &cs[i]
		}
	}
	return nil
}

// setCondition sets a condition, keeping lastTransitionTime when the status is unchanged and
// lastUpdateTime when nothing changed (unless touch).
func setCondition(st *appsv1.DeploymentStatus, t appsv1.DeploymentConditionType, s corev1.ConditionStatus, reason, msg string, now metav1.Time, touch bool) {
	c := appsv1.DeploymentCondition{Type: t, Status: s, Reason: reason, Message: msg, LastUpdateTime: now, LastTransitionTime: now}
	if cur := getCondition(st.Conditions, t); cur != nil {
		if cur.Status == s {
			c.LastTransitionTime = cur.LastTransitionTime
		}
		if cur.Status == s && cur.Reason == reason && cur.Message == msg && !touch {
			c.LastUpdateTime = cur.LastUpdateTime
		}
		*cur = c
		return
	}
	st.Conditions = append(st.Conditions, c)
}

func removeCondition(st *appsv1.DeploymentStatus, t appsv1.DeploymentConditionType) {
	out := st.Conditions[:0]
	for _, c := range st.Conditions {
		if c.Type != t {
			out = append(out, c)
		}
	}
	st.Conditions = out
}
