// Package nodeports is the NodePorts filter: a pod's host ports must be free on the node.
package nodeports

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"

	"github.com/klite/klite/internal/scheduler/framework"
)

// Name is the plugin's registry name.
const Name = "NodePorts"

// ErrReason is upstream's rejection message.
const ErrReason = "node(s) didn't have free ports for the requested pod ports"

const stateKey framework.StateKey = Name

type state []framework.HostPort

func (s state) Clone() framework.StateData { return s }

// NodePorts implements the filter.
type NodePorts struct{}

var (
	_ framework.PreFilterPlugin   = &NodePorts{}
	_ framework.FilterPlugin      = &NodePorts{}
	_ framework.EnqueueExtensions = &NodePorts{}
)

// New returns the plugin.
func New(context.Context, json.RawMessage, framework.Handle) (framework.Plugin, error) {
	return &NodePorts{}, nil
}

// Name returns Name.
func (*NodePorts) Name() string { return Name }

// EventsToRegister: a pod leaving frees its ports; a new node has all ports free.
func (*NodePorts) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{{Resource: framework.Pod, Action: framework.Delete}, {Resource: framework.Node, Action: framework.Add}}
}

// PreFilter collects the pod's host ports, skipping the filter when there are none.
func (*NodePorts) PreFilter(_ context.Context, cs *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	ports := framework.PodHostPorts(pod)
	if len(ports) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	cs.Write(stateKey, state(ports))
	return nil, nil
}

// Filter rejects nodes where a wanted host port is taken.
func (*NodePorts) Filter(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, node *framework.NodeInfo) *framework.Status {
	want, _ := cs.Read(stateKey).(state)
	for _, p := range want {
		for _, used := range node.UsedPorts {
			if p.Conflicts(used) {
				return framework.NewStatus(framework.Unschedulable, ErrReason)
			}
		}
	}
	return nil
}
