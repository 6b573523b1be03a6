package podtopologyspread

import (
	"context"
	"math"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/klite/klite/internal/scheduler/framework"
	"github.com/klite/klite/internal/scheduler/plugins/tainttoleration"
)

func tolerated(tol []corev1.Toleration, t *corev1.Taint) bool {
	return tainttoleration.Tolerates(tol, t)
}

type filterState struct {
	constraints []constraint
	// counts[i][domain] is the matching pods in each domain of constraint i.
	counts []map[string]int64
}

func (s *filterState) Clone() framework.StateData {
	c := &filterState{constraints: s.constraints, counts: make([]map[string]int64, len(s.counts))}
	for i, m := range s.counts {
		c.counts[i] = make(map[string]int64, len(m))
		for k, v := range m {
			c.counts[i][k] = v
		}
	}
	return c
}

// PreFilter counts matching pods per domain for each DoNotSchedule constraint.
func (p *PodTopologySpread) PreFilter(_ context.Context, cs *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	cons, err := parse(pod, corev1.DoNotSchedule)
	if err != nil {
		return nil, framework.AsStatus(err)
	}
	if len(cons) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	st := &filterState{constraints: cons, counts: make([]map[string]int64, len(cons))}
	aff := requiredAffinity(pod)
	for i := range cons {
		st.counts[i] = map[string]int64{}
		for _, n := range nodes {
			if !eligible(&cons[i], pod, n.Node(), aff) {
				continue
			}
			st.counts[i][n.Node().Labels[cons[i].topologyKey]] += countMatching(n, pod.Namespace, cons[i].selector)
		}
	}
	cs.Write(filterKey, st)
	return nil, nil
}

// Filter rejects nodes where placing the pod would exceed a constraint's maxSkew.
func (p *PodTopologySpread) Filter(_ context.Context, cs *framework.CycleState, pod *corev1.Pod, node *framework.NodeInfo) *framework.Status {
	st, ok := cs.Read(filterKey).(*filterState)
	if !ok {
		return nil
	}
	for i := range st.constraints {
		c := &st.constraints[i]
		v, has := node.Node().Labels[c.topologyKey]
		if !has {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeLabelNotMatch)
		}
		self := int64(0)
		if c.selector.Matches(labels.Set(pod.Labels)) {
			self = 1
		}
		if st.counts[i][v]+self-minCount(st.counts[i], c.minDomains) > c.maxSkew {
			return framework.NewStatus(framework.Unschedulable, ErrReasonConstraintsNotMatch)
		}
	}
	return nil
}

// minCount is the global minimum, 0 while fewer than minDomains domains exist.
func minCount(m map[string]int64, minDomains int64) int64 {
	if int64(len(m)) < minDomains {
		return 0
	}
	lo := int64(math.MaxInt64)
	for _, v := range m {
		lo = min(lo, v)
	}
	if lo == math.MaxInt64 {
		return 0
	}
	return lo
}

// AddPod updates the counts for preemption's what-ifs.
func (p *PodTopologySpread) AddPod(cs *framework.CycleState, pod *corev1.Pod, add *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	p.update(cs, pod, add, node, 1)
	return nil
}

// RemovePod updates the counts for preemption's what-ifs.
func (p *PodTopologySpread) RemovePod(cs *framework.CycleState, pod *corev1.Pod, remove *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	p.update(cs, pod, remove, node, -1)
	return nil
}

func (p *PodTopologySpread) update(cs *framework.CycleState, pod *corev1.Pod, pi *framework.PodInfo, node *framework.NodeInfo, delta int64) {
	st, ok := cs.Read(filterKey).(*filterState)
	if !ok || pi.Pod.Namespace != pod.Namespace {
		return
	}
	aff := requiredAffinity(pod)
	for i := range st.constraints {
		c := &st.constraints[i]
		if eligible(c, pod, node.Node(), aff) && c.selector.Matches(labels.Set(pi.Pod.Labels)) {
			st.counts[i][node.Node().Labels[c.topologyKey]] += delta
		}
	}
}
