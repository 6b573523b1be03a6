package interpodaffinity

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/klite/klite/internal/scheduler/framework"
)

const filterKey framework.StateKey = "PreFilter" + Name

type filterState struct {
	podInfo      *framework.PodInfo
	affinity     []framework.AffinityTerm
	antiAffinity []framework.AffinityTerm
	// existingAnti counts domains holding pods whose required anti-affinity matches the pod.
	existingAnti counts
	// affinityCounts counts domains holding pods matching all the pod's affinity terms.
	affinityCounts counts
	// antiCounts counts domains holding pods matching the pod's anti-affinity terms.
	antiCounts counts
}

func (s *filterState) Clone() framework.StateData {
	c := *s
	c.existingAnti, c.affinityCounts, c.antiCounts = clone(s.existingAnti), clone(s.affinityCounts), clone(s.antiCounts)
	return &c
}

func clone(c counts) counts {
	out := make(counts, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

// PreFilter counts, per topology domain, the existing pods relevant to the pod's required terms.
func (p *InterPodAffinity) PreFilter(_ context.Context, cs *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	pi := framework.NewPodInfo(pod)
	if pi.ParseErr != nil {
		return nil, framework.AsStatus(pi.ParseErr)
	}
	snap := p.h.Snapshot()
	if len(pi.RequiredAffinity) == 0 && len(pi.RequiredAntiAffinity) == 0 && len(snap.HavePodsWithAntiAffinity) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	st := &filterState{
		podInfo: pi, affinity: p.resolveNamespaces(pi.RequiredAffinity), antiAffinity: p.resolveNamespaces(pi.RequiredAntiAffinity),
		existingAnti: counts{}, affinityCounts: counts{}, antiCounts: counts{},
	}
	podNS := p.nsLabels(pod.Namespace)
	for _, n := range snap.HavePodsWithAntiAffinity {
		for _, existing := range n.PodsWithAntiAffinity {
			st.existingAnti.addTerms(matchingTerms(existing.RequiredAntiAffinity, pod, podNS), n.Node(), 1)
		}
	}
	if len(st.affinity)+len(st.antiAffinity) > 0 {
		for _, n := range snap.Nodes {
			for _, existing := range n.Pods {
				st.count(existing, n.Node(), 1)
			}
		}
	}
	cs.Write(filterKey, st)
	return nil, nil
}

func (st *filterState) count(existing *framework.PodInfo, node *corev1.Node, delta int64) {
	if matchesAll(st.affinity, existing.Pod, nil) {
		st.affinityCounts.addTerms(st.affinity, node, delta)
	}
	st.antiCounts.addTerms(matchingTerms(st.antiAffinity, existing.Pod, nil), node, delta)
}

func matchingTerms(terms []framework.AffinityTerm, pod *corev1.Pod, ns map[string]string) []framework.AffinityTerm {
	var out []framework.AffinityTerm
	for i := range terms {
		if terms[i].Matches(pod, ns) {
			out = append(out, terms[i])
		}
	}
	return out
}

// Filter checks the three rules for one node.
func (p *InterPodAffinity) Filter(_ context.Context, cs *framework.CycleState, pod *corev1.Pod, node *framework.NodeInfo) *framework.Status {
	st, ok := cs.Read(filterKey).(*filterState)
	if !ok {
		return framework.AsStatus(errNoState)
	}
	labels := node.Node().Labels
	for pair, n := range st.existingAnti {
		if n > 0 && labels[pair.key] == pair.value {
			if _, has := labels[pair.key]; has {
				return framework.NewStatus(framework.Unschedulable, ErrReasonExistingAntiAffinityRulesNotMatch)
			}
		}
	}
	if !st.affinitySatisfied(pod, labels) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonAffinityRulesNotMatch)
	}
	for _, t := range st.antiAffinity {
		if v, has := labels[t.TopologyKey]; has && st.antiCounts[topologyPair{t.TopologyKey, v}] > 0 {
			return framework.NewStatus(framework.Unschedulable, ErrReasonAntiAffinityRulesNotMatch)
		}
	}
	return nil
}

// affinitySatisfied: every term's domain on this node holds a matching pod — or no pod matches
// anywhere and the pod matches its own terms (the first pod of a group may go anywhere).
func (st *filterState) affinitySatisfied(pod *corev1.Pod, labels map[string]string) bool {
	if len(st.affinity) == 0 {
		return true
	}
	for _, t := range st.affinity {
		v, has := labels[t.TopologyKey]
		if !has || st.affinityCounts[topologyPair{t.TopologyKey, v}] <= 0 {
			return len(st.affinityCounts) == 0 && matchesAll(st.affinity, pod, nil) && hasKeys(labels, st.affinity)
		}
	}
	return true
}

func hasKeys(labels map[string]string, terms []framework.AffinityTerm) bool {
	for k := range keys(terms) {
		if _, ok := labels[k]; !ok {
			return false
		}
	}
	return true
}

// AddPod updates the counts as if add ran on node (preemption's what-ifs).
func (p *InterPodAffinity) AddPod(cs *framework.CycleState, pod *corev1.Pod, add *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	return p.update(cs, pod, add, node, 1)
}

// RemovePod updates the counts as if remove had left node.
func (p *InterPodAffinity) RemovePod(cs *framework.CycleState, pod *corev1.Pod, remove *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	return p.update(cs, pod, remove, node, -1)
}

func (p *InterPodAffinity) update(cs *framework.CycleState, pod *corev1.Pod, pi *framework.PodInfo, node *framework.NodeInfo, delta int64) *framework.Status {
	st, ok := cs.Read(filterKey).(*filterState)
	if !ok {
		return nil
	}
	st.existingAnti.addTerms(matchingTerms(pi.RequiredAntiAffinity, pod, p.nsLabels(pod.Namespace)), node.Node(), delta)
	st.count(pi, node.Node(), delta)
	return nil
}

type stateError string

func (e stateError) Error() string { return string(e) }

const errNoState = stateError("InterPodAffinity: PreFilter state missing")
