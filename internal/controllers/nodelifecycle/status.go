package nodelifecycle

import (
	"context"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Taints the controller maintains.
var (
	notReadyNoSchedule    = corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule}
	notReadyNoExecute     = corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute}
	unreachableNoSchedule = corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoSchedule}
	unreachableNoExecute  = corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}
	// conditionTaints keep pods off a node while a kubelet-reported condition is True, and
	// off a cordoned node, as upstream's TaintNodesByCondition does.
	conditionTaints = []struct {
		condition corev1.NodeConditionType
		taint     corev1.Taint
	}{
		{corev1.NodeMemoryPressure, corev1.Taint{Key: corev1.TaintNodeMemoryPressure, Effect: corev1.TaintEffectNoSchedule}},
		{corev1.NodeDiskPressure, corev1.Taint{Key: corev1.TaintNodeDiskPressure, Effect: corev1.TaintEffectNoSchedule}},
		{corev1.NodePIDPressure, corev1.Taint{Key: corev1.TaintNodePIDPressure, Effect: corev1.TaintEffectNoSchedule}},
		{corev1.NodeNetworkUnavailable, corev1.Taint{Key: corev1.TaintNodeNetworkUnavailable, Effect: corev1.TaintEffectNoSchedule}},
	}
	unschedulableNoSchedule = corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}
	managed                 = managedTaints()
)

func managedTaints() []corev1.Taint {
	out := []corev1.Taint{notReadyNoSchedule, notReadyNoExecute, unreachableNoSchedule, unreachableNoExecute, unschedulableNoSchedule}
	for _, ct := range conditionTaints {
		out = append(out, ct.taint)
	}
	return out
}

// markUnknown sets every kubelet-owned condition to Unknown (Ready first, added if missing).
func (c *Controller) markUnknown(ctx context.Context, node *corev1.Node, now time.Time) (*corev1.Node, error) {
	next := node.DeepCopy()
	changed := false
	reason, msg := "NodeStatusUnknown", "Kubelet stopped posting node status."
	if readyCondition(node) == nil {
		next.Status.Conditions = append(next.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeReady})
		msg = "Kubelet never posted node status."
	}
	for i := range next.Status.Conditions {
		cond := &next.Status.Conditions[i]
		if cond.Status == corev1.ConditionUnknown {
			continue
		}
		cond.Status, cond.Reason, cond.Message = corev1.ConditionUnknown, reason, msg
		cond.LastTransitionTime = metav1.NewTime(now)
		changed = true
	}
	if !changed {
		return node, nil
	}
	updated, err := c.cfg.Client.CoreV1().Nodes().UpdateStatus(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return nil, err
	}
	c.log.Info("node stopped posting status", "node", node.Name)
	c.cfg.Recorder.Eventf(node, corev1.EventTypeNormal, "NodeNotReady", "Node %s status is now: NodeNotReady", node.Name)
	return updated, nil
}

// markPodsNotReady sets Ready=False on the pods of an unresponsive node.
func (c *Controller) markPodsNotReady(ctx context.Context, node string) error {
	for _, p := range c.podsOn(node) {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		next := p.DeepCopy()
		changed := false
		for i := range next.Status.Conditions {
			cond := &next.Status.Conditions[i]
			if (cond.Type == corev1.PodReady || cond.Type == corev1.ContainersReady) && cond.Status != corev1.ConditionFalse {
				cond.Status, cond.LastTransitionTime = corev1.ConditionFalse, metav1.Now()
				changed = true
			}
		}
		if !changed {
			continue
		}
		if _, err := c.cfg.Client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// wantTaints are the managed taints the node's conditions and spec call for.
func wantTaints(node *corev1.Node) []corev1.Taint {
	var want []corev1.Taint
	r := readyCondition(node)
	switch {
	case r == nil || r.Status == corev1.ConditionUnknown:
		want = append(want, unreachableNoSchedule, unreachableNoExecute)
	case r.Status == corev1.ConditionFalse:
		want = append(want, notReadyNoSchedule, notReadyNoExecute)
	}
	for _, ct := range conditionTaints {
		if conditionTrue(node, ct.condition) {
			want = append(want, ct.taint)
		}
	}
	if node.Spec.Unschedulable {
		want = append(want, unschedulableNoSchedule)
	}
	return want
}

func conditionTrue(node *corev1.Node, t corev1.NodeConditionType) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// syncTaints adds the wanted managed taints (stamped with timeAdded) and removes the others.
func (c *Controller) syncTaints(ctx context.Context, node *corev1.Node, now time.Time) error {
	want := wantTaints(node)
	var taints []corev1.Taint
	changed := false
	for _, t := range node.Spec.Taints {
		if isManaged(t) && !hasTaint(want, t) {
			changed = true
			continue
		}
		taints = append(taints, t)
	}
	for _, w := range want {
		if !hasTaint(taints, w) {
			w.TimeAdded = &metav1.Time{Time: now}
			taints = append(taints, w)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	next := node.DeepCopy()
	next.Spec.Taints = taints
	_, err := c.cfg.Client.CoreV1().Nodes().Update(ctx, next, metav1.UpdateOptions{})
	return err
}

func isManaged(t corev1.Taint) bool { return hasTaint(managed, t) }

func hasTaint(list []corev1.Taint, t corev1.Taint) bool {
	return slices.ContainsFunc(list, func(x corev1.Taint) bool { return x.Key == t.Key && x.Effect == t.Effect })
}
