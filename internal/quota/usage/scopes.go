package usage

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Matches reports whether quota q counts obj: an unscoped quota counts everything; scopes
// (spec.scopes and spec.scopeSelector, all of which must hold) select pods only.
func Matches(q *corev1.ResourceQuota, obj runtime.Object) bool {
	scopes := selectors(q)
	if len(scopes) == 0 {
		return true
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return false
	}
	for _, s := range scopes {
		if !podMatches(s, p) {
			return false
		}
	}
	return true
}

// selectors are q's scopes and scope selector terms as one list.
func selectors(q *corev1.ResourceQuota) []corev1.ScopedResourceSelectorRequirement {
	var out []corev1.ScopedResourceSelectorRequirement
	for _, s := range q.Spec.Scopes {
		out = append(out, corev1.ScopedResourceSelectorRequirement{ScopeName: s, Operator: corev1.ScopeSelectorOpExists})
	}
	if q.Spec.ScopeSelector != nil {
		out = append(out, q.Spec.ScopeSelector.MatchExpressions...)
	}
	return out
}

func podMatches(s corev1.ScopedResourceSelectorRequirement, p *corev1.Pod) bool {
	switch s.ScopeName {
	case corev1.ResourceQuotaScopeTerminating:
		return p.Spec.ActiveDeadlineSeconds != nil && *p.Spec.ActiveDeadlineSeconds >= 0
	case corev1.ResourceQuotaScopeNotTerminating:
		return p.Spec.ActiveDeadlineSeconds == nil || *p.Spec.ActiveDeadlineSeconds < 0
	case corev1.ResourceQuotaScopeBestEffort:
		return BestEffort(p)
	case corev1.ResourceQuotaScopeNotBestEffort:
		return !BestEffort(p)
	case corev1.ResourceQuotaScopePriorityClass:
		return priorityMatches(s, p.Spec.PriorityClassName)
	}
	return false
}

func priorityMatches(s corev1.ScopedResourceSelectorRequirement, class string) bool {
	switch s.Operator {
	case corev1.ScopeSelectorOpExists:
		return class != ""
	case corev1.ScopeSelectorOpDoesNotExist:
		return class == ""
	case corev1.ScopeSelectorOpIn:
		return slices.Contains(s.Values, class)
	case corev1.ScopeSelectorOpNotIn:
		return !slices.Contains(s.Values, class)
	}
	return false
}

// BestEffort reports whether no container of p requests or limits anything.
func BestEffort(p *corev1.Pod) bool {
	for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for _, c := range cs {
			if len(c.Resources.Requests) > 0 || len(c.Resources.Limits) > 0 {
				return false
			}
		}
	}
	return true
}

// mustSpecify are the resources each container must state when a quota limits them (an
// upstream rule kept for compatibility).
var mustSpecify = []corev1.ResourceName{
	corev1.ResourceCPU, corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory,
	corev1.ResourceMemory, corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory,
}

// Scoped reports whether q has scopes, so that it counts only the pods they select.
func Scoped(q *corev1.ResourceQuota) bool { return len(selectors(q)) > 0 }
