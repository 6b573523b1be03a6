package podtopologyspread

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/klite/klite/internal/scheduler/framework"
)

type scoreState struct {
	constraints []constraint
	counts      []map[string]int64
	weights     []float64
}

func (s *scoreState) Clone() framework.StateData { return s }

// PreScore counts matching pods per domain for each ScheduleAnyway constraint over all nodes.
func (p *PodTopologySpread) PreScore(_ context.Context, cs *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	cons, err := parse(pod, corev1.ScheduleAnyway)
	if err != nil {
		return framework.AsStatus(err)
	}
	if len(cons) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	st := &scoreState{constraints: cons}
	aff := requiredAffinity(pod)
	for i := range cons {
		m := map[string]int64{}
		for _, n := range p.h.Snapshot().Nodes {
			if eligible(&cons[i], pod, n.Node(), aff) {
				m[n.Node().Labels[cons[i].topologyKey]] += countMatching(n, pod.Namespace, cons[i].selector)
			}
		}
		st.counts = append(st.counts, m)
		st.weights = append(st.weights, domainWeight(len(m)))
	}
	cs.Write(scoreKey, st)
	return nil
}

// Score is the weighted number of matching pods in the node's domains (lower is better).
func (p *PodTopologySpread) Score(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, node *framework.NodeInfo) (int64, *framework.Status) {
	st, ok := cs.Read(scoreKey).(*scoreState)
	if !ok {
		return 0, nil
	}
	var sum float64
	for i := range st.constraints {
		c := &st.constraints[i]
		v, has := node.Node().Labels[c.topologyKey]
		if !has {
			continue
		}
		sum += float64(st.counts[i][v])*st.weights[i] + float64(c.maxSkew-1)
	}
	return int64(sum + 0.5), nil
}

// NormalizeScore inverts the counts so the least crowded node scores 100.
func (p *PodTopologySpread) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, scores []int64) *framework.Status {
	if len(scores) == 0 {
		return nil
	}
	lo, hi := scores[0], scores[0]
	for _, s := range scores {
		lo, hi = min(lo, s), max(hi, s)
	}
	for i, s := range scores {
		if hi == 0 {
			scores[i] = framework.MaxNodeScore
			continue
		}
		scores[i] = framework.MaxNodeScore * (hi + lo - s) / hi
	}
	return nil
}
