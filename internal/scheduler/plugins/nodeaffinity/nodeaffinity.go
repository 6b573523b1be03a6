// Package nodeaffinity is the NodeAffinity filter and scorer: nodeSelector and required node
// affinity (all operators, matchFields on metadata.name) filter; preferred terms add their
// weights to the nodes they match.
package nodeaffinity

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/klite/klite/internal/scheduler/framework"
	"github.com/klite/klite/internal/scheduler/plugins/helper"
)

// Name is the plugin's registry name.
const Name = "NodeAffinity"

// Upstream's rejection messages.
const (
	ErrReasonPod      = "node(s) didn't match Pod's node affinity/selector"
	ErrReasonConflict = "pod affinity terms conflict"
)

const (
	filterKey framework.StateKey = "PreFilter" + Name
	scoreKey  framework.StateKey = "PreScore" + Name
)

type filterState struct {
	selector labels.Selector
	required helper.NodeSelector // nil: no required affinity
}

func (s *filterState) Clone() framework.StateData { return s }

type weightedTerm struct {
	term   helper.NodeSelectorTerm
	weight int64
}

type scoreState []weightedTerm

func (s scoreState) Clone() framework.StateData { return s }

// NodeAffinity implements the filter and the scorer.
type NodeAffinity struct{}

var (
	_ framework.PreFilterPlugin   = &NodeAffinity{}
	_ framework.FilterPlugin      = &NodeAffinity{}
	_ framework.PreScorePlugin    = &NodeAffinity{}
	_ framework.ScorePlugin       = &NodeAffinity{}
	_ framework.ScoreNormalizer   = &NodeAffinity{}
	_ framework.EnqueueExtensions = &NodeAffinity{}
)

// New returns the plugin.
func New(context.Context, json.RawMessage, framework.Handle) (framework.Plugin, error) {
	return &NodeAffinity{}, nil
}

// Name returns Name.
func (*NodeAffinity) Name() string { return Name }

// EventsToRegister: node labels change or nodes appear.
func (*NodeAffinity) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{{Resource: framework.Node, Action: framework.Add | framework.Update}}
}

func required(pod *corev1.Pod) *corev1.NodeSelector {
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil {
		return a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	}
	return nil
}

// PreFilter parses the pod's selector and required terms, and narrows to named nodes when every
// term names them with matchFields.
func (*NodeAffinity) PreFilter(_ context.Context, cs *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	req := required(pod)
	if req == nil && len(pod.Spec.NodeSelector) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	st := &filterState{selector: labels.SelectorFromSet(pod.Spec.NodeSelector)}
	if req != nil {
		ns, err := helper.ParseNodeSelector(req)
		if err != nil {
			return nil, framework.AsStatus(err)
		}
		st.required = ns
	}
	cs.Write(filterKey, st)
	if req == nil || len(req.NodeSelectorTerms) == 0 {
		return nil, nil
	}
	names := namedNodes(req)
	if names != nil && names.Len() == 0 {
		return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonConflict)
	}
	if names != nil {
		return &framework.PreFilterResult{NodeNames: names}, nil
	}
	return nil, nil
}

// namedNodes is the union over terms of the nodes each names with matchFields In; nil when
// some term does not restrict names.
func namedNodes(req *corev1.NodeSelector) sets.Set[string] {
	var out sets.Set[string]
	for _, t := range req.NodeSelectorTerms {
		var term sets.Set[string]
		for _, f := range t.MatchFields {
			if f.Key != "metadata.name" || f.Operator != corev1.NodeSelectorOpIn {
				continue
			}
			if term == nil {
				term = sets.New(f.Values...)
			} else {
				term = term.Intersection(sets.New(f.Values...))
			}
		}
		if term == nil {
			return nil
		}
		out = out.Union(term)
	}
	return out
}

// Filter checks the node's labels against the pod's nodeSelector and required terms.
func (*NodeAffinity) Filter(_ context.Context, cs *framework.CycleState, pod *corev1.Pod, node *framework.NodeInfo) *framework.Status {
	st, ok := cs.Read(filterKey).(*filterState)
	if !ok {
		return framework.AsStatus(errNoState)
	}
	n := node.Node()
	if !st.selector.Matches(labels.Set(n.Labels)) || st.required != nil && !st.required.Matches(n) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonPod)
	}
	return nil
}

// PreScore parses the preferred terms, skipping scoring when there are none.
func (*NodeAffinity) PreScore(_ context.Context, cs *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	var st scoreState
	for _, p := range a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
		if p.Weight == 0 {
			continue
		}
		t, err := helper.ParseNodeSelectorTerm(&p.Preference)
		if err != nil {
			return framework.AsStatus(err)
		}
		st = append(st, weightedTerm{term: t, weight: int64(p.Weight)})
	}
	cs.Write(scoreKey, st)
	return nil
}

// Score sums the weights of the preferred terms the node matches.
func (*NodeAffinity) Score(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, node *framework.NodeInfo) (int64, *framework.Status) {
	st, _ := cs.Read(scoreKey).(scoreState)
	var sum int64
	for _, t := range st {
		if t.term.Matches(node.Node()) {
			sum += t.weight
		}
	}
	return sum, nil
}

// NormalizeScore scales so the best node scores 100.
func (*NodeAffinity) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, scores []int64) *framework.Status {
	helper.DefaultNormalizeScore(framework.MaxNodeScore, false, scores)
	return nil
}

type stateError string

func (e stateError) Error() string { return string(e) }

const errNoState = stateError("NodeAffinity: PreFilter state missing")
