// Package tainttoleration is the TaintToleration filter and scorer: a pod may land only on nodes
// whose NoSchedule and NoExecute taints it tolerates, and prefers nodes with fewer untolerated
// PreferNoSchedule taints.
package tainttoleration

import (
	"context"
	"encoding/json"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"

	"github.com/klite/klite/internal/scheduler/framework"
	"github.com/klite/klite/internal/scheduler/plugins/helper"
)

// Name is the plugin's registry name.
const Name = "TaintToleration"

// ErrReasonNotMatch is upstream's rejection message.
const ErrReasonNotMatch = "node(s) had untolerated taint(s)"

const stateKey framework.StateKey = "PreScore" + Name

type preScoreState []corev1.Toleration

func (s preScoreState) Clone() framework.StateData { return s }

// TaintToleration implements the filter and the scorer.
type TaintToleration struct{}

var (
	_ framework.FilterPlugin      = &TaintToleration{}
	_ framework.PreScorePlugin    = &TaintToleration{}
	_ framework.ScorePlugin       = &TaintToleration{}
	_ framework.ScoreNormalizer   = &TaintToleration{}
	_ framework.EnqueueExtensions = &TaintToleration{}
)

// New returns the plugin.
func New(context.Context, json.RawMessage, framework.Handle) (framework.Plugin, error) {
	return &TaintToleration{}, nil
}

// Name returns Name.
func (*TaintToleration) Name() string { return Name }

// EventsToRegister: node taints change or nodes appear.
func (*TaintToleration) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{{Resource: framework.Node, Action: framework.Add | framework.Update}}
}

// Tolerates reports whether any toleration tolerates taint.
func Tolerates(tolerations []corev1.Toleration, taint *corev1.Taint) bool {
	for i := range tolerations {
		if tolerations[i].ToleratesTaint(logr.Discard(), taint, true) {
			return true
		}
	}
	return false
}

// Filter rejects nodes with an untolerated NoSchedule or NoExecute taint.
func (*TaintToleration) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, node *framework.NodeInfo) *framework.Status {
	for i := range node.Node().Spec.Taints {
		t := &node.Node().Spec.Taints[i]
		if t.Effect == corev1.TaintEffectPreferNoSchedule {
			continue
		}
		if !Tolerates(pod.Spec.Tolerations, t) {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNotMatch)
		}
	}
	return nil
}

// PreScore keeps the tolerations that matter for PreferNoSchedule taints.
func (*TaintToleration) PreScore(_ context.Context, cs *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	var tol preScoreState
	for _, t := range pod.Spec.Tolerations {
		if t.Effect == "" || t.Effect == corev1.TaintEffectPreferNoSchedule {
			tol = append(tol, t)
		}
	}
	cs.Write(stateKey, tol)
	return nil
}

// Score counts untolerated PreferNoSchedule taints (fewer is better after normalising).
func (*TaintToleration) Score(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, node *framework.NodeInfo) (int64, *framework.Status) {
	tol, _ := cs.Read(stateKey).(preScoreState)
	var n int64
	for i := range node.Node().Spec.Taints {
		t := &node.Node().Spec.Taints[i]
		if t.Effect == corev1.TaintEffectPreferNoSchedule && !Tolerates(tol, t) {
			n++
		}
	}
	return n, nil
}

// NormalizeScore maps the counts to 0..100, the node with most untolerated taints scoring 0.
func (*TaintToleration) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, scores []int64) *framework.Status {
	helper.DefaultNormalizeScore(framework.MaxNodeScore, true, scores)
	return nil
}
