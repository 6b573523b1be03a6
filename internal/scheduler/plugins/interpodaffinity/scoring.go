package interpodaffinity

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/klite/klite/internal/scheduler/framework"
)

const scoreKey framework.StateKey = "PreScore" + Name

type scoreState struct{ scores counts }

func (s *scoreState) Clone() framework.StateData { return s }

// PreScore sums, per topology domain, the weights of the preferred terms between the pod and the
// pods already there (both directions), and existing pods' required affinity to it.
func (p *InterPodAffinity) PreScore(_ context.Context, cs *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	pi := framework.NewPodInfo(pod)
	snap := p.h.Snapshot()
	hasOwn := len(pi.PreferredAffinity)+len(pi.PreferredAntiAffinity) > 0
	if !hasOwn && len(snap.HavePodsWithAffinity) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	nodes := snap.HavePodsWithAffinity
	if hasOwn {
		nodes = snap.Nodes
	}
	aff := p.resolveWeighted(pi.PreferredAffinity)
	anti := p.resolveWeighted(pi.PreferredAntiAffinity)
	podNS := p.nsLabels(pod.Namespace)
	st := &scoreState{scores: counts{}}
	for _, n := range nodes {
		list := n.PodsWithAffinity
		if hasOwn {
			list = n.Pods
		}
		for _, existing := range list {
			st.add(aff, existing.Pod, nil, n.Node(), 1)
			st.add(anti, existing.Pod, nil, n.Node(), -1)
			for _, t := range existing.RequiredAffinity {
				if t.Matches(pod, podNS) {
					st.scores.addTerms([]framework.AffinityTerm{t}, n.Node(), hardPodAffinityWeight)
				}
			}
			st.add(existing.PreferredAffinity, pod, podNS, n.Node(), 1)
			st.add(existing.PreferredAntiAffinity, pod, podNS, n.Node(), -1)
		}
	}
	cs.Write(scoreKey, st)
	return nil
}

func (p *InterPodAffinity) resolveWeighted(in []framework.WeightedAffinityTerm) []framework.WeightedAffinityTerm {
	out := make([]framework.WeightedAffinityTerm, len(in))
	for i := range in {
		out[i] = framework.WeightedAffinityTerm{AffinityTerm: p.resolveNamespaces([]framework.AffinityTerm{in[i].AffinityTerm})[0], Weight: in[i].Weight}
	}
	return out
}

func (st *scoreState) add(terms []framework.WeightedAffinityTerm, pod *corev1.Pod, ns map[string]string, node *corev1.Node, sign int64) {
	for i := range terms {
		if terms[i].Matches(pod, ns) {
			st.scores.addTerms([]framework.AffinityTerm{terms[i].AffinityTerm}, node, sign*int64(terms[i].Weight))
		}
	}
}

// Score sums the domain scores of the node's topology labels.
func (p *InterPodAffinity) Score(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, node *framework.NodeInfo) (int64, *framework.Status) {
	st, ok := cs.Read(scoreKey).(*scoreState)
	if !ok {
		return 0, nil
	}
	var sum int64
	for pair, v := range st.scores {
		if val, has := node.Node().Labels[pair.key]; has && val == pair.value {
			sum += v
		}
	}
	return sum, nil
}

// NormalizeScore maps raw sums (possibly negative) linearly onto 0..100.
func (p *InterPodAffinity) NormalizeScore(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, scores []int64) *framework.Status {
	if len(scores) == 0 {
		return nil
	}
	lo, hi := scores[0], scores[0]
	for _, s := range scores {
		lo, hi = min(lo, s), max(hi, s)
	}
	for i, s := range scores {
		if hi > lo {
			scores[i] = framework.MaxNodeScore * (s - lo) / (hi - lo)
		} else {
			scores[i] = 0
		}
	}
	return nil
}
