// Package nodeunschedulable is the NodeUnschedulable filter: cordoned nodes
// (spec.unschedulable) take only pods that tolerate the node.kubernetes.io/unschedulable taint.
package nodeunschedulable

import (
	"context"
	"encoding/json"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"

	"github.com/klite/klite/internal/scheduler/framework"
)

// Name is the plugin's registry name.
const Name = "NodeUnschedulable"

// ErrReasonUnschedulable is upstream's rejection message.
const ErrReasonUnschedulable = "node(s) were unschedulable"

// NodeUnschedulable implements the filter.
type NodeUnschedulable struct{}

var (
	_ framework.FilterPlugin      = &NodeUnschedulable{}
	_ framework.EnqueueExtensions = &NodeUnschedulable{}
)

// New returns the plugin.
func New(context.Context, json.RawMessage, framework.Handle) (framework.Plugin, error) {
	return &NodeUnschedulable{}, nil
}

// Name returns Name.
func (*NodeUnschedulable) Name() string { return Name }

// EventsToRegister: uncordoning or adding a node.
func (*NodeUnschedulable) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{{Resource: framework.Node, Action: framework.Add | framework.Update}}
}

var unschedulableTaint = &corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}

// Filter rejects cordoned nodes unless the pod tolerates them.
func (*NodeUnschedulable) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, node *framework.NodeInfo) *framework.Status {
	if !node.Node().Spec.Unschedulable {
		return nil
	}
	for i := range pod.Spec.Tolerations {
		if pod.Spec.Tolerations[i].ToleratesTaint(logr.Discard(), unschedulableTaint, true) {
			return nil
		}
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonUnschedulable)
}
