// Package defaultpreemption is the DefaultPreemption PostFilter: when a pod fits nowhere, it
// looks for a node where evicting lower-priority pods would make room, choosing, as upstream,
// the node whose victims violate the fewest PodDisruptionBudgets, then where the fewest and
// lowest-priority pods must go. It marks each victim with a DisruptionTarget condition,
// deletes it and nominates the node.
package defaultpreemption

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"

	"github.com/klite/klite/internal/scheduler/framework"
)

// Name is the plugin's registry name.
const Name = "DefaultPreemption"

// Upstream's messages.
const (
	msgNotHelpful  = "Preemption is not helpful for scheduling"
	msgNoVictims   = "No preemption victims found for incoming pod"
	msgNever       = "not eligible due to preemptionPolicy=Never."
	msgTerminating = "not eligible due to a terminating pod on the nominated node."
)

// Upstream's bounds on how many candidate nodes to evaluate.
const (
	minCandidateNodesPercentage = 10
	minCandidateNodesAbsolute   = 100
)

// DefaultPreemption implements PostFilter.
type DefaultPreemption struct {
	h    framework.Handle
	pdbs policylisters.PodDisruptionBudgetLister
}

var _ framework.PostFilterPlugin = &DefaultPreemption{}

// New returns the plugin; it lists PodDisruptionBudgets through the scheduler's informers.
func New(_ context.Context, _ json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	pdbs := h.Informers().Policy().V1().PodDisruptionBudgets()
	pdbs.Informer() // registered now so that the scheduler starts it
	return &DefaultPreemption{h: h, pdbs: pdbs.Lister()}, nil
}

// Name returns Name.
func (*DefaultPreemption) Name() string { return Name }

// candidate is a node and the pods that would have to leave it; violations counts the
// victims whose eviction would break a PodDisruptionBudget.
type candidate struct {
	node       *framework.NodeInfo
	victims    []*framework.PodInfo
	violations int
}

// PostFilter finds the best node to preempt on, evicts the victims and nominates the node.
func (p *DefaultPreemption) PostFilter(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, statuses map[string]*framework.Status) (string, *framework.Status) {
	if ok, msg := p.eligible(pod); !ok {
		return "", framework.NewStatus(framework.Unschedulable, "preemption: "+msg)
	}
	snap := p.h.Snapshot()
	cands, nodeStatus := p.findCandidates(ctx, state, pod, snap, statuses)
	if len(cands) == 0 {
		return "", framework.NewStatus(framework.Unschedulable, "preemption: "+fitMessage(len(snap.Nodes), nodeStatus))
	}
	best := pickOne(cands)
	for _, v := range best.victims {
		if err := p.evict(ctx, pod, v.Pod); err != nil {
			return "", framework.AsStatus(err)
		}
	}
	p.clearLowerNominations(ctx, pod, best.node.Name())
	return best.node.Name(), nil
}

func (p *DefaultPreemption) eligible(pod *corev1.Pod) (bool, string) {
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy == corev1.PreemptNever {
		return false, msgNever
	}
	if n := p.h.Snapshot().Get(pod.Status.NominatedNodeName); n != nil {
		for _, pi := range n.Pods {
			if pi.Pod.DeletionTimestamp != nil && framework.PodPriority(pi.Pod) < framework.PodPriority(pod) {
				return false, msgTerminating
			}
		}
	}
	return true, ""
}

// findCandidates tries the nodes whose rejection preemption might fix, in snapshot order.
func (p *DefaultPreemption) findCandidates(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, snap *framework.Snapshot, statuses map[string]*framework.Status) ([]candidate, map[string]*framework.Status) {
	out := map[string]*framework.Status{}
	var potential []*framework.NodeInfo
	for _, n := range snap.Nodes {
		if st, ok := statuses[n.Name()]; ok && st.Code() == framework.Unschedulable {
			potential = append(potential, n)
		} else {
			out[n.Name()] = framework.NewStatus(framework.UnschedulableAndUnresolvable, msgNotHelpful)
		}
	}
	want := max(len(snap.Nodes)*minCandidateNodesPercentage/100, minCandidateNodesAbsolute)
	var cands []candidate
	pdbs := p.listPDBs()
	for _, n := range potential {
		victims, violations, st := p.victimsOn(ctx, state.Clone(), pod, n.Clone(), pdbs)
		if !st.IsSuccess() {
			out[n.Name()] = st
			continue
		}
		cands = append(cands, candidate{node: n, victims: victims, violations: violations})
		if len(cands) >= want {
			break
		}
	}
	return cands, out
}

// victimsOn removes every lower-priority pod, checks the pod then fits, and gives back as many
// of them as still leave room: first those whose eviction would violate a PodDisruptionBudget,
// then the rest, each group most important first. It also returns how many victims violate.
func (p *DefaultPreemption) victimsOn(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, node *framework.NodeInfo, pdbs []*policyv1.PodDisruptionBudget) ([]*framework.PodInfo, int, *framework.Status) {
	fw := p.h.Framework()
	var potential []*framework.PodInfo
	for _, pi := range node.Pods {
		if framework.PodPriority(pi.Pod) < framework.PodPriority(pod) {
			potential = append(potential, pi)
		}
	}
	if len(potential) == 0 {
		return nil, 0, framework.NewStatus(framework.UnschedulableAndUnresolvable, msgNoVictims)
	}
	for _, pi := range potential {
		if err := node.RemovePod(pi.Pod); err != nil {
			return nil, 0, framework.AsStatus(err)
		}
		if st := fw.RunPreFilterExtensionRemovePod(state, pod, pi, node); !st.IsSuccess() {
			return nil, 0, st
		}
	}
	if st := fw.RunFilterPluginsWithNominatedPods(ctx, state, pod, node); !st.IsSuccess() {
		return nil, 0, st
	}
	sort.SliceStable(potential, func(i, j int) bool { return moreImportant(potential[i].Pod, potential[j].Pod) })
	violating, nonViolating := splitByPDB(potential, pdbs)
	r := &reprieve{fw: fw, state: state, pod: pod, node: node}
	violations := 0
	for _, pi := range violating {
		if gone, st := r.try(ctx, pi); !st.IsSuccess() {
			return nil, 0, st
		} else if gone {
			violations++
		}
	}
	for _, pi := range nonViolating {
		if _, st := r.try(ctx, pi); !st.IsSuccess() {
			return nil, 0, st
		}
	}
	sort.SliceStable(r.victims, func(i, j int) bool { return moreImportant(r.victims[i].Pod, r.victims[j].Pod) })
	return r.victims, violations, nil
}

// reprieve gives potential victims back to a node while the preemptor still fits.
type reprieve struct {
	fw      *framework.Framework
	state   *framework.CycleState
	pod     *corev1.Pod
	node    *framework.NodeInfo
	victims []*framework.PodInfo
}

// try puts pi back on the node; if the preemptor then no longer fits, pi becomes a victim
// (gone is true).
func (r *reprieve) try(ctx context.Context, pi *framework.PodInfo) (gone bool, st *framework.Status) {
	r.node.AddPod(pi)
	if st := r.fw.RunPreFilterExtensionAddPod(r.state, r.pod, pi, r.node); !st.IsSuccess() {
		return false, st
	}
	if r.fw.RunFilterPluginsWithNominatedPods(ctx, r.state, r.pod, r.node).IsSuccess() {
		return false, nil // reprieved
	}
	_ = r.node.RemovePod(pi.Pod)
	if st := r.fw.RunPreFilterExtensionRemovePod(r.state, r.pod, pi, r.node); !st.IsSuccess() {
		return false, st
	}
	r.victims = append(r.victims, pi)
	return true, nil
}

// moreImportant orders victims: higher priority first, then the one running longer.
func moreImportant(a, b *corev1.Pod) bool {
	pa, pb := framework.PodPriority(a), framework.PodPriority(b)
	if pa != pb {
		return pa > pb
	}
	return startTime(a).Time.Before(startTime(b).Time)
}

func startTime(p *corev1.Pod) metav1.Time {
	if p.Status.StartTime != nil {
		return *p.Status.StartTime
	}
	return p.CreationTimestamp
}

// pickOne applies upstream's tie-breakers: a node needing no victims, fewest PodDisruptionBudget
// violations, lowest highest-victim priority, lowest priority sum,
// fewest victims, latest start of the highest-priority victims, then node order.
func pickOne(cands []candidate) candidate {
	best := cands[0]
	for _, c := range cands[1:] {
		if better(c, best) {
			best = c
		}
	}
	return best
}

func better(a, b candidate) bool {
	if len(a.victims) == 0 || len(b.victims) == 0 {
		return len(a.victims) < len(b.victims)
	}
	if a.violations != b.violations {
		return a.violations < b.violations
	}
	ha, hb := highest(a), highest(b)
	if ha != hb {
		return ha < hb
	}
	if sa, sb := sum(a), sum(b); sa != sb {
		return sa < sb
	}
	if len(a.victims) != len(b.victims) {
		return len(a.victims) < len(b.victims)
	}
	return earliestOfHighest(a).Time.After(earliestOfHighest(b).Time)
}

func highest(c candidate) int32 {
	h := framework.PodPriority(c.victims[0].Pod)
	for _, v := range c.victims {
		h = max(h, framework.PodPriority(v.Pod))
	}
	return h
}

func sum(c candidate) int64 {
	var s int64
	for _, v := range c.victims {
		// Shift so negative priorities still count as victims, as upstream does.
		s += int64(framework.PodPriority(v.Pod)) + (1 << 31) + 1
	}
	return s
}

func earliestOfHighest(c candidate) metav1.Time {
	h := highest(c)
	var earliest *metav1.Time
	for _, v := range c.victims {
		if framework.PodPriority(v.Pod) == h {
			if t := startTime(v.Pod); earliest == nil || t.Time.Before(earliest.Time) {
				earliest = &t
			}
		}
	}
	return *earliest
}

// fitMessage formats statuses like the scheduler's FitError.
func fitMessage(numNodes int, statuses map[string]*framework.Status) string {
	counts := map[string]int{}
	for _, st := range statuses {
		for _, r := range st.Reasons() {
			counts[r]++
		}
	}
	parts := make([]string, 0, len(counts))
	for r, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(parts)
	return fmt.Sprintf("0/%d nodes are available: %s", numNodes, strings.Join(parts, ", ")) + "."
}
