// Package podtopologyspread is the PodTopologySpread filter and scorer: DoNotSchedule
// constraints bound the skew of matching pods across topology domains; ScheduleAnyway
// constraints prefer the least crowded domains.
package podtopologyspread

import (
	"context"
	"encoding/json"
	"math"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/klite/klite/internal/scheduler/framework"
	"github.com/klite/klite/internal/scheduler/plugins/helper"
)

// Name is the plugin's registry name.
const Name = "PodTopologySpread"

// Upstream's rejection messages.
const (
	ErrReasonConstraintsNotMatch = "node(s) didn't match pod topology spread constraints"
	ErrReasonNodeLabelNotMatch   = ErrReasonConstraintsNotMatch + " (missing required label)"
)

const (
	filterKey framework.StateKey = "PreFilter" + Name
	scoreKey  framework.StateKey = "PreScore" + Name
)

// PodTopologySpread implements the filter and the scorer.
type PodTopologySpread struct{ h framework.Handle }

var (
	_ framework.PreFilterPlugin   = &PodTopologySpread{}
	_ framework.FilterPlugin      = &PodTopologySpread{}
	_ framework.PreScorePlugin    = &PodTopologySpread{}
	_ framework.ScorePlugin       = &PodTopologySpread{}
	_ framework.ScoreNormalizer   = &PodTopologySpread{}
	_ framework.EnqueueExtensions = &PodTopologySpread{}
)

// New returns the plugin.
func New(_ context.Context, _ json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	return &PodTopologySpread{h: h}, nil
}

// Name returns Name.
func (*PodTopologySpread) Name() string { return Name }

// EventsToRegister: pods come and go, nodes and their labels change.
func (*PodTopologySpread) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.Pod, Action: framework.All},
		{Resource: framework.Node, Action: framework.Add | framework.Update | framework.Delete},
	}
}

// constraint is a parsed TopologySpreadConstraint.
type constraint struct {
	maxSkew     int64
	minDomains  int64
	topologyKey string
	selector    labels.Selector
	honorAffin  bool // nodeAffinityPolicy Honor (default)
	honorTaints bool // nodeTaintsPolicy Honor
}

func parse(pod *corev1.Pod, action corev1.UnsatisfiableConstraintAction) ([]constraint, error) {
	var out []constraint
	for _, c := range pod.Spec.TopologySpreadConstraints {
		if c.WhenUnsatisfiable != action {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
		if err != nil {
			return nil, err
		}
		for _, k := range c.MatchLabelKeys {
			if v, ok := pod.Labels[k]; ok {
				if r, err := labels.NewRequirement(k, selection.In, []string{v}); err == nil {
					sel = sel.Add(*r)
				}
			}
		}
		pc := constraint{maxSkew: int64(c.MaxSkew), minDomains: 1, topologyKey: c.TopologyKey, selector: sel, honorAffin: true}
		if c.MinDomains != nil {
			pc.minDomains = int64(*c.MinDomains)
		}
		if c.NodeAffinityPolicy != nil {
			pc.honorAffin = *c.NodeAffinityPolicy == corev1.NodeInclusionPolicyHonor
		}
		if c.NodeTaintsPolicy != nil {
			pc.honorTaints = *c.NodeTaintsPolicy == corev1.NodeInclusionPolicyHonor
		}
		out = append(out, pc)
	}
	return out, nil
}

// eligible reports whether node counts toward c's domains for pod.
func eligible(c *constraint, pod *corev1.Pod, node *corev1.Node, affinity helper.NodeSelector) bool {
	if _, ok := node.Labels[c.topologyKey]; !ok {
		return false
	}
	if c.honorAffin {
		if !labels.SelectorFromSet(pod.Spec.NodeSelector).Matches(labels.Set(node.Labels)) {
			return false
		}
		if affinity != nil && !affinity.Matches(node) {
			return false
		}
	}
	if c.honorTaints {
		for i := range node.Spec.Taints {
			t := &node.Spec.Taints[i]
			if t.Effect != corev1.TaintEffectPreferNoSchedule && !tolerated(pod.Spec.Tolerations, t) {
				return false
			}
		}
	}
	return true
}

func requiredAffinity(pod *corev1.Pod) helper.NodeSelector {
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return nil
	}
	ns, err := helper.ParseNodeSelector(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution)
	if err != nil {
		return nil
	}
	return ns
}

// countMatching counts pods on node in pod's namespace selected by sel, ignoring terminating ones.
func countMatching(node *framework.NodeInfo, ns string, sel labels.Selector) int64 {
	var n int64
	for _, p := range node.Pods {
		if p.Pod.Namespace == ns && p.Pod.DeletionTimestamp == nil && sel.Matches(labels.Set(p.Pod.Labels)) {
			n++
		}
	}
	return n
}

// domainWeight is upstream's log(domains+2), so constraints over more domains weigh more.
func domainWeight(domains int) float64 { return math.Log(float64(domains + 2)) }
