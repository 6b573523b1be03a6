package framework

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// PluginScore is one plugin's weighted score for a node.
type PluginScore struct {
	Plugin string `json:"plugin"`
	Score  int64  `json:"score"` // normalised score times the plugin's weight
}

// NodeScore is a feasible node's total and its parts.
type NodeScore struct {
	Name   string        `json:"node"`
	Total  int64         `json:"total"`
	Scores []PluginScore `json:"scores,omitempty"`
}

// RunPreScorePlugins runs PreScore over the feasible nodes.
func (f *Framework) RunPreScorePlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) *Status {
	for _, p := range f.preScore {
		s := p.PreScore(ctx, state, pod, nodes)
		if s.IsSkip() {
			state.SkipScore[p.Name()] = true
			continue
		}
		if !s.IsSuccess() {
			return AsStatus(fmt.Errorf("running PreScore plugin %q: %w", p.Name(), s.AsError())).WithPlugin(p.Name())
		}
	}
	return nil
}

// RunScorePlugins scores every node with every score plugin (nodes in parallel), normalises
// and weights the scores, and returns them in node order.
func (f *Framework) RunScorePlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) ([]NodeScore, *Status) {
	out := make([]NodeScore, len(nodes))
	for i, n := range nodes {
		out[i] = NodeScore{Name: n.Name(), Scores: make([]PluginScore, 0, len(f.score))}
	}
	raw := make([]int64, len(nodes))
	for pi, p := range f.score {
		if state.SkipScore[p.Name()] {
			continue
		}
		var errStatus *Status
		var once sync.Once
		f.Parallelize(ctx, len(nodes), func(i int) {
			v, s := p.Score(ctx, state, pod, nodes[i])
			if !s.IsSuccess() {
				once.Do(func() { errStatus = s })
			}
			raw[i] = v
		})
		if errStatus != nil {
			return nil, AsStatus(fmt.Errorf("running Score plugin %q: %w", p.Name(), errStatus.AsError())).WithPlugin(p.Name())
		}
		if n, ok := p.(ScoreNormalizer); ok {
			if s := n.NormalizeScore(ctx, state, pod, raw); !s.IsSuccess() {
				return nil, s.WithPlugin(p.Name())
			}
		}
		for i := range nodes {
			if raw[i] < 0 || raw[i] > MaxNodeScore {
				return nil, AsStatus(fmt.Errorf("plugin %q returned score %d for node %s, outside [0, %d]", p.Name(), raw[i], nodes[i].Name(), MaxNodeScore))
			}
			w := raw[i] * f.weights[pi]
			out[i].Scores = append(out[i].Scores, PluginScore{Plugin: p.Name(), Score: w})
			out[i].Total += w
		}
	}
	return out, nil
}

// RunReservePlugins reserves in order; on failure the caller must run Unreserve.
func (f *Framework) RunReservePlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, node string) *Status {
	for _, p := range f.reserve {
		if s := p.Reserve(ctx, state, pod, node); !s.IsSuccess() {
			return s.WithPlugin(p.Name())
		}
	}
	return nil
}

// RunUnreservePlugins undoes Reserve in reverse order.
func (f *Framework) RunUnreservePlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, node string) {
	for i := len(f.reserve) - 1; i >= 0; i-- {
		f.reserve[i].Unreserve(ctx, state, pod, node)
	}
}

// RunPreBindPlugins runs PreBind in order.
func (f *Framework) RunPreBindPlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, node string) *Status {
	for _, p := range f.preBind {
		if s := p.PreBind(ctx, state, pod, node); !s.IsSuccess() {
			return s.WithPlugin(p.Name())
		}
	}
	return nil
}

// RunBindPlugins lets the first binder that does not Skip bind the pod.
func (f *Framework) RunBindPlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, node string) *Status {
	for _, p := range f.bind {
		s := p.Bind(ctx, state, pod, node)
		if s.IsSkip() {
			continue
		}
		return s.WithPlugin(p.Name())
	}
	return NewStatus(Error, "no bind plugin bound the pod")
}
