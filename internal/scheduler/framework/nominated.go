package framework

import (
	"context"

	corev1 "k8s.io/api/core/v1"
)

// RunFilterPluginsWithNominatedPods runs the filters as upstream does when pods are nominated
// to node: once with the nominated pods of equal or higher priority added (so pod cannot take
// the room preemption freed for them), and once without (so pod does not rely on them, as
// anti-affinity or spreading might). Both passes must succeed.
func (f *Framework) RunFilterPluginsWithNominatedPods(ctx context.Context, state *CycleState, pod *corev1.Pod, node *NodeInfo) *Status {
	if nominated := f.nominatedAhead(pod, node.Name()); len(nominated) > 0 {
		withState, withNode := state.Clone(), node.Clone()
		for _, pi := range nominated {
			withNode.AddPod(pi)
			if s := f.RunPreFilterExtensionAddPod(withState, pod, pi, withNode); !s.IsSuccess() {
				return s
			}
		}
		if s := f.RunFilterPlugins(ctx, withState, pod, withNode); !s.IsSuccess() {
			return s
		}
	}
	return f.RunFilterPlugins(ctx, state, pod, node)
}

// nominatedAhead lists the pods other than pod nominated to node whose priority is not lower.
func (f *Framework) nominatedAhead(pod *corev1.Pod, node string) []*PodInfo {
	if f.h == nil {
		return nil
	}
	all := f.h.NominatedPodsForNode(node)
	out := all[:0]
	for _, pi := range all {
		if pi.Pod.UID != pod.UID && PodPriority(pi.Pod) >= PodPriority(pod) {
			out = append(out, pi)
		}
	}
	return out
}
