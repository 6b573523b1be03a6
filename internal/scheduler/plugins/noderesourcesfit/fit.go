// Package noderesourcesfit is the NodeResourcesFit filter and scorer: a pod fits a node when its
// requests (cpu, memory, ephemeral-storage, extended resources, one pod slot; init containers and
// sidecars counted as upstream) fit in what is allocatable and not yet requested. The score is
// upstream's LeastAllocated strategy: prefer the emptiest nodes.
package noderesourcesfit

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/klite/klite/internal/scheduler/framework"
)

// Name is the plugin's registry name.
const Name = "NodeResourcesFit"

const (
	stateKey framework.StateKey = "PreFilter" + Name
	scoreKey framework.StateKey = "PreScore" + Name
)

type preFilterState struct{ req framework.Resource }

func (s *preFilterState) Clone() framework.StateData { return s }

// ResourceWeight weights one resource in the score.
type ResourceWeight struct {
	Name   corev1.ResourceName `json:"name"`
	Weight int64               `json:"weight"`
}

// Args are the plugin's pluginConfig args (upstream's NodeResourcesFitArgs, LeastAllocated only).
type Args struct {
	ScoringStrategy struct {
		Type      string           `json:"type"`
		Resources []ResourceWeight `json:"resources"`
	} `json:"scoringStrategy"`
}

// Fit implements the filter and the scorer.
type Fit struct {
	resources []ResourceWeight
	most      bool // MostAllocated instead of LeastAllocated
}

var (
	_ framework.PreFilterPlugin   = &Fit{}
	_ framework.FilterPlugin      = &Fit{}
	_ framework.PreScorePlugin    = &Fit{}
	_ framework.ScorePlugin       = &Fit{}
	_ framework.EnqueueExtensions = &Fit{}
)

// New returns the plugin.
func New(_ context.Context, raw json.RawMessage, _ framework.Handle) (framework.Plugin, error) {
	f := &Fit{resources: []ResourceWeight{{corev1.ResourceCPU, 1}, {corev1.ResourceMemory, 1}}}
	if len(raw) == 0 {
		return f, nil
	}
	var a Args
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("args: %w", err)
	}
	switch a.ScoringStrategy.Type {
	case "", "LeastAllocated":
	case "MostAllocated":
		f.most = true
	default:
		return nil, fmt.Errorf("unsupported scoring strategy %q", a.ScoringStrategy.Type)
	}
	if len(a.ScoringStrategy.Resources) > 0 {
		f.resources = a.ScoringStrategy.Resources
	}
	return f, nil
}

// Name returns Name.
func (*Fit) Name() string { return Name }

// EventsToRegister: pods leaving free resources; nodes appear or grow.
func (*Fit) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{{Resource: framework.Pod, Action: framework.Delete}, {Resource: framework.Node, Action: framework.Add | framework.Update}}
}

// PreFilter computes the pod's requests once.
func (*Fit) PreFilter(_ context.Context, cs *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	req, _ := framework.PodRequests(pod)
	cs.Write(stateKey, &preFilterState{req: req})
	return nil, nil
}

// Insufficient lists upstream's reasons why req does not fit on node, and whether no amount of
// preemption could help.
func Insufficient(req *framework.Resource, node *framework.NodeInfo) (reasons []string, unresolvable bool) {
	alloc, used := &node.Allocatable, &node.Requested
	if int64(len(node.Pods))+1 > alloc.AllowedPodNumber {
		reasons = append(reasons, "Too many pods")
	}
	check := func(name string, want, have, inUse int64) {
		if want > 0 && want > have-inUse {
			reasons = append(reasons, "Insufficient "+name)
			unresolvable = unresolvable || want > have
		}
	}
	check("cpu", req.MilliCPU, alloc.MilliCPU, used.MilliCPU)
	check("memory", req.Memory, alloc.Memory, used.Memory)
	check("ephemeral-storage", req.EphemeralStorage, alloc.EphemeralStorage, used.EphemeralStorage)
	for _, name := range sortedKeys(req.Scalar) {
		check(string(name), req.Scalar[name], alloc.Scalar[name], used.Scalar[name])
	}
	return reasons, unresolvable
}

// Filter rejects nodes without room for the pod.
func (*Fit) Filter(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, node *framework.NodeInfo) *framework.Status {
	st, ok := cs.Read(stateKey).(*preFilterState)
	if !ok {
		return framework.AsStatus(fmt.Errorf("%s: PreFilter state missing", Name))
	}
	reasons, unresolvable := Insufficient(&st.req, node)
	if len(reasons) == 0 {
		return nil
	}
	code := framework.Unschedulable
	if unresolvable {
		code = framework.UnschedulableAndUnresolvable
	}
	return framework.NewStatus(code, reasons...)
}

// PreScore computes the pod's requests with the scorers' defaults.
func (*Fit) PreScore(_ context.Context, cs *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	_, nz := framework.PodRequests(pod)
	cs.Write(scoreKey, &preFilterState{req: nz})
	return nil
}

// Score is the weighted mean over resources of the free share (LeastAllocated) or the used share
// (MostAllocated) after placing the pod, counting default requests for request-less containers.
func (f *Fit) Score(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, node *framework.NodeInfo) (int64, *framework.Status) {
	st, ok := cs.Read(scoreKey).(*preFilterState)
	if !ok {
		return 0, framework.AsStatus(fmt.Errorf("%s: PreScore state missing", Name))
	}
	nz := &st.req
	var sum, weights int64
	for _, r := range f.resources {
		capacity := node.Allocatable.Get(r.Name)
		if capacity == 0 {
			continue
		}
		requested := node.NonZeroRequested.Get(r.Name) + nz.Get(r.Name)
		sum += r.Weight * score(requested, capacity, f.most)
		weights += r.Weight
	}
	if weights == 0 {
		return 0, nil
	}
	return sum / weights, nil
}

func score(requested, capacity int64, most bool) int64 {
	if requested > capacity {
		if most {
			return framework.MaxNodeScore
		}
		return 0
	}
	if most {
		return requested * framework.MaxNodeScore / capacity
	}
	return (capacity - requested) * framework.MaxNodeScore / capacity
}
