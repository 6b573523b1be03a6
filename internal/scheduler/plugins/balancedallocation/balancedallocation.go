// Package balancedallocation is the NodeResourcesBalancedAllocation scorer: it prefers nodes
// whose cpu and memory would be used in similar proportions after placing the pod.
package balancedallocation

import (
	"context"
	"encoding/json"
	"math"

	corev1 "k8s.io/api/core/v1"

	"github.com/klite/klite/internal/scheduler/framework"
)

// Name is the plugin's registry name.
const Name = "NodeResourcesBalancedAllocation"

const stateKey framework.StateKey = "PreScore" + Name

type state struct{ req framework.Resource }

func (s *state) Clone() framework.StateData { return s }

// BalancedAllocation implements the scorer.
type BalancedAllocation struct{}

var (
	_ framework.PreScorePlugin = &BalancedAllocation{}
	_ framework.ScorePlugin    = &BalancedAllocation{}
)

// New returns the plugin.
func New(context.Context, json.RawMessage, framework.Handle) (framework.Plugin, error) {
	return &BalancedAllocation{}, nil
}

// Name returns Name.
func (*BalancedAllocation) Name() string { return Name }

// PreScore computes the pod's requests; a pod requesting nothing skips scoring, as upstream.
func (*BalancedAllocation) PreScore(_ context.Context, cs *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	req, _ := framework.PodRequests(pod)
	if req.MilliCPU == 0 && req.Memory == 0 {
		return framework.NewStatus(framework.Skip)
	}
	cs.Write(stateKey, &state{req: req})
	return nil
}

// Score is (1 - standard deviation of the cpu and memory fractions) * 100.
func (*BalancedAllocation) Score(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, node *framework.NodeInfo) (int64, *framework.Status) {
	st, _ := cs.Read(stateKey).(*state)
	if st == nil {
		return 0, nil
	}
	var fractions []float64
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		capacity := node.Allocatable.Get(r)
		if capacity == 0 {
			continue
		}
		f := float64(node.Requested.Get(r)+st.req.Get(r)) / float64(capacity)
		fractions = append(fractions, math.Min(f, 1))
	}
	return int64((1 - stddev(fractions)) * float64(framework.MaxNodeScore)), nil
}

func stddev(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	var mean float64
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	var v float64
	for _, x := range xs {
		v += (x - mean) * (x - mean)
	}
	return math.Sqrt(v / float64(len(xs)))
}
