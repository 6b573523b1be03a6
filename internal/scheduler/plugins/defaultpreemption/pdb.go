package defaultpreemption

import (
	"log/slog"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/klite/klite/internal/scheduler/framework"
)

// listPDBs returns every PodDisruptionBudget the informer holds.
func (p *DefaultPreemption) listPDBs() []*policyv1.PodDisruptionBudget {
	pdbs, err := p.pdbs.List(labels.Everything())
	if err != nil {
		slog.Warn("cannot list pod disruption budgets", "err", err)
		return nil
	}
	return pdbs
}

// splitByPDB sorts pods (in order) into those whose eviction would take a matching budget's
// disruptionsAllowed below zero and the rest, as upstream does: a budget with an empty selector
// matches nothing, and a pod the budget already lists as disrupted does not count again.
func splitByPDB(pods []*framework.PodInfo, pdbs []*policyv1.PodDisruptionBudget) (violating, nonViolating []*framework.PodInfo) {
	allowed := make([]int32, len(pdbs))
	selectors := make([]labels.Selector, len(pdbs))
	for i, pdb := range pdbs {
		allowed[i] = pdb.Status.DisruptionsAllowed
		if sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err == nil && pdb.Spec.Selector != nil {
			selectors[i] = sel
		}
	}
	for _, pi := range pods {
		violated := false
		for i, pdb := range pdbs {
			if !covers(pdb, selectors[i], pi) {
				continue
			}
			if allowed[i]--; allowed[i] < 0 {
				violated = true
			}
		}
		if violated {
			violating = append(violating, pi)
		} else {
			nonViolating = append(nonViolating, pi)
		}
	}
	return violating, nonViolating
}

// covers reports whether the budget (with its parsed selector, nil when unusable) counts pi.
func covers(pdb *policyv1.PodDisruptionBudget, sel labels.Selector, pi *framework.PodInfo) bool {
	pod := pi.Pod
	if sel == nil || sel.Empty() || pdb.Namespace != pod.Namespace || len(pod.Labels) == 0 {
		return false
	}
	if !sel.Matches(labels.Set(pod.Labels)) {
		return false
	}
	_, disrupted := pdb.Status.DisruptedPods[pod.Name]
	return !disrupted
}
