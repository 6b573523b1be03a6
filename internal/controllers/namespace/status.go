package namespace

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// conditions are the five deletion conditions upstream reports, computed from one pass.
func conditions(res result) []corev1.NamespaceCondition {
	cond := func(t corev1.NamespaceConditionType, bad bool, badReason, goodReason, msg string) corev1.NamespaceCondition {
		c := corev1.NamespaceCondition{Type: t, Status: corev1.ConditionFalse, Reason: goodReason}
		c.Message = map[string]string{
			"ResourcesDiscovered": "All resources successfully discovered", "ParsedGroupVersions": "All legacy kube types successfully parsed",
			"ContentDeleted": "All content successfully deleted, may be waiting on finalization", "ContentRemoved": "All content successfully removed",
			"ContentHasNoFinalizers": "All content-preserving finalizers finished",
		}[goodReason]
		if bad {
			c.Status, c.Reason, c.Message = corev1.ConditionTrue, badReason, msg
		}
		return c
	}
	var discMsg, delMsg string
	if res.discoveryErr != nil {
		discMsg = "Discovery failed for some groups: " + res.discoveryErr.Error()
	}
	if len(res.deleteErrs) > 0 {
		parts := make([]string, len(res.deleteErrs))
		for i, e := range res.deleteErrs {
			parts[i] = e.Error()
		}
		delMsg = "Failed to delete all resource types, " + fmt.Sprint(len(parts)) + " remaining: " + strings.Join(parts, ", ")
	}
	return []corev1.NamespaceCondition{
		cond(corev1.NamespaceDeletionDiscoveryFailure, res.discoveryErr != nil, "DiscoveryFailed", "ResourcesDiscovered", discMsg),
		cond(corev1.NamespaceDeletionGVParsingFailure, false, "GroupVersionParsingFailed", "ParsedGroupVersions", ""),
		cond(corev1.NamespaceDeletionContentFailure, len(res.deleteErrs) > 0, "ContentDeletionFailed", "ContentDeleted", delMsg),
		cond(corev1.NamespaceContentRemaining, len(res.remaining) > 0, "SomeResourcesRemain", "ContentRemoved", "Some resources are remaining: "+counts(res.remaining, "resource instances")),
		cond(corev1.NamespaceFinalizersRemaining, len(res.finalizers) > 0, "SomeFinalizersRemain", "ContentHasNoFinalizers", "Some content in the namespace has finalizers remaining: "+counts(res.finalizers, "resource instances")),
	}
}

// counts renders "pods. has 2 resource instances, services. has 1 resource instances".
func counts(m map[string]int, what string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s has %d %s", k, m[k], what)
	}
	return strings.Join(parts, ", ")
}

// updateStatus writes phase Terminating and the conditions when they changed.
func (c *Controller) updateStatus(ctx context.Context, ns *corev1.Namespace, res result) error {
	want := conditions(res)
	old := ns.Status.Conditions
	next := ns.DeepCopy()
	next.Status.Phase = corev1.NamespaceTerminating
	next.Status.Conditions = nil
	now := metav1.Now()
	for _, w := range want {
		w.LastTransitionTime = now
		for _, o := range old {
			if o.Type == w.Type && o.Status == w.Status {
				w.LastTransitionTime = o.LastTransitionTime
			}
		}
		next.Status.Conditions = append(next.Status.Conditions, w)
	}
	if equality.Semantic.DeepEqual(ns.Status, next.Status) {
		return nil
	}
	_, err := c.cfg.Client.CoreV1().Namespaces().UpdateStatus(ctx, next, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone, or changed under us: the next event brings us back
	}
	return err
}
