package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

// Extension point names, as in KubeSchedulerConfiguration's plugins section.
const (
	PointPreFilter  = "preFilter"
	PointFilter     = "filter"
	PointPostFilter = "postFilter"
	PointPreScore   = "preScore"
	PointScore      = "score"
	PointReserve    = "reserve"
	PointPreBind    = "preBind"
	PointBind       = "bind"
)

// PluginSpec enables one plugin in a profile, at every extension point it implements except
// the Disabled ones.
type PluginSpec struct {
	Name     string
	Weight   int64 // score weight (default 1)
	Args     json.RawMessage
	Disabled []string
}

// Profile is one scheduler profile: the plugins, in order, serving one schedulerName.
type Profile struct {
	SchedulerName string
	Plugins       []PluginSpec
	// PercentageOfNodesToScore: 0 means upstream's adaptive default.
	PercentageOfNodesToScore int32
}

// Framework runs one profile's plugins.
type Framework struct {
	Profile     Profile
	Parallelism int

	h          Handle
	plugins    map[string]Plugin
	preFilter  []PreFilterPlugin
	filter     []FilterPlugin
	postFilter []PostFilterPlugin
	preScore   []PreScorePlugin
	score      []ScorePlugin
	weights    []int64
	reserve    []ReservePlugin
	preBind    []PreBindPlugin
	bind       []BindPlugin
}

// New builds the plugins of profile from registry.
func New(ctx context.Context, registry Registry, profile Profile, h Handle) (*Framework, error) {
	f := &Framework{Profile: profile, Parallelism: max(runtime.GOMAXPROCS(0), 2), h: h, plugins: map[string]Plugin{}}
	for _, spec := range profile.Plugins {
		factory, ok := registry[spec.Name]
		if !ok {
			return nil, fmt.Errorf("profile %q: unknown plugin %q", profile.SchedulerName, spec.Name)
		}
		if _, dup := f.plugins[spec.Name]; dup {
			return nil, fmt.Errorf("profile %q: plugin %q listed twice", profile.SchedulerName, spec.Name)
		}
		p, err := factory(ctx, spec.Args, h)
		if err != nil {
			return nil, fmt.Errorf("plugin %s: %w", spec.Name, err)
		}
		f.plugins[spec.Name] = p
		f.add(p, spec)
	}
	if len(f.bind) == 0 {
		return nil, fmt.Errorf("profile %q: no bind plugin", profile.SchedulerName)
	}
	return f, nil
}

func (f *Framework) add(p Plugin, spec PluginSpec) {
	on := func(point string) bool { return !slices.Contains(spec.Disabled, point) }
	if x, ok := p.(PreFilterPlugin); ok && on(PointPreFilter) {
		f.preFilter = append(f.preFilter, x)
	}
	if x, ok := p.(FilterPlugin); ok && on(PointFilter) {
		f.filter = append(f.filter, x)
	}
	if x, ok := p.(PostFilterPlugin); ok && on(PointPostFilter) {
		f.postFilter = append(f.postFilter, x)
	}
	if x, ok := p.(PreScorePlugin); ok && on(PointPreScore) {
		f.preScore = append(f.preScore, x)
	}
	if x, ok := p.(ScorePlugin); ok && on(PointScore) {
		w := spec.Weight
		if w == 0 {
			w = 1
		}
		f.score = append(f.score, x)
		f.weights = append(f.weights, w)
	}
	if x, ok := p.(ReservePlugin); ok && on(PointReserve) {
		f.reserve = append(f.reserve, x)
	}
	if x, ok := p.(PreBindPlugin); ok && on(PointPreBind) {
		f.preBind = append(f.preBind, x)
	}
	if x, ok := p.(BindPlugin); ok && on(PointBind) {
		f.bind = append(f.bind, x)
	}
}

// Plugin returns an enabled plugin by name.
func (f *Framework) Plugin(name string) Plugin { return f.plugins[name] }

// HasScorePlugins reports whether scoring does anything.
func (f *Framework) HasScorePlugins() bool { return len(f.score) > 0 }

// HasPostFilterPlugins reports whether preemption (or another PostFilter) is enabled.
func (f *Framework) HasPostFilterPlugins() bool { return len(f.postFilter) > 0 }

// EventsToRegister maps each plugin that cares to the events worth retrying its rejections on.
func (f *Framework) EventsToRegister() map[string][]ClusterEvent {
	out := map[string][]ClusterEvent{}
	for name, p := range f.plugins {
		if e, ok := p.(EnqueueExtensions); ok {
			out[name] = e.EventsToRegister()
		} else {
			out[name] = []ClusterEvent{{Resource: WildCard, Action: All}}
		}
	}
	return out
}

// Parallelize calls fn(i) for i in [0, n) on up to Parallelism goroutines.
func (f *Framework) Parallelize(ctx context.Context, n int, fn func(i int)) {
	workers := min(f.Parallelism, n)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// RunPreFilterPlugins runs PreFilter. It also returns the plugins that rejected the pod or, on
// success, those that narrowed the nodes.
func (f *Framework) RunPreFilterPlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) (*PreFilterResult, *Status, sets.Set[string]) {
	var result *PreFilterResult
	var narrowedBy []string
	for _, p := range f.preFilter {
		r, s := p.PreFilter(ctx, state, pod, nodes)
		if s.IsSkip() {
			state.SkipFilter[p.Name()] = true
			continue
		}
		if !s.IsSuccess() {
			return nil, s.WithPlugin(p.Name()), sets.New(p.Name())
		}
		if r == nil || r.NodeNames == nil {
			continue
		}
		narrowedBy = append(narrowedBy, p.Name())
		if result == nil {
			result = &PreFilterResult{NodeNames: r.NodeNames.Clone()}
		} else {
			result.NodeNames = result.NodeNames.Intersection(r.NodeNames)
		}
		if result.NodeNames.Len() == 0 {
			msg := fmt.Sprintf("node(s) didn't satisfy plugin(s) %v simultaneously", narrowedBy)
			if len(narrowedBy) == 1 {
				msg = fmt.Sprintf("node(s) didn't satisfy plugin %v", narrowedBy[0])
			}
			return nil, NewStatus(UnschedulableAndUnresolvable, msg).WithPlugin(p.Name()), sets.New(narrowedBy...)
		}
	}
	state.filters = make([]FilterPlugin, 0, len(f.filter))
	for _, p := range f.filter {
		if !state.SkipFilter[p.Name()] {
			state.filters = append(state.filters, p)
		}
	}
	return result, nil, sets.New(narrowedBy...)
}

// RunFilterPlugins runs the filters on one node, stopping at the first rejection.
func (f *Framework) RunFilterPlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, node *NodeInfo) *Status {
	filters := state.filters
	if filters == nil {
		filters = f.filter
	}
	for _, p := range filters {
		if state.filters == nil && state.SkipFilter[p.Name()] {
			continue
		}
		if s := p.Filter(ctx, state, pod, node); !s.IsSuccess() {
			if !s.IsRejected() && s.Code() != Error {
				s = AsStatus(fmt.Errorf("plugin %s returned %v from Filter", p.Name(), s.Code()))
			}
			return s.WithPlugin(p.Name())
		}
	}
	return nil
}

// RunPostFilterPlugins runs PostFilter plugins until one nominates a node.
func (f *Framework) RunPostFilterPlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, statuses map[string]*Status) (string, *Status) {
	var msgs []string
	for _, p := range f.postFilter {
		node, s := p.PostFilter(ctx, state, pod, statuses)
		if s.IsSuccess() {
			return node, nil
		}
		if s.Code() == Error {
			return "", s.WithPlugin(p.Name())
		}
		msgs = append(msgs, s.Reasons()...)
	}
	return "", NewStatus(Unschedulable, msgs...)
}

// RunPreFilterExtensionAddPod tells the PreFilter plugins that add now runs on node (for
// preemption's what-ifs on a cloned state).
func (f *Framework) RunPreFilterExtensionAddPod(state *CycleState, pod *corev1.Pod, add *PodInfo, node *NodeInfo) *Status {
	for _, p := range f.preFilter {
		if x, ok := p.(PreFilterExtensions); ok && !state.SkipFilter[p.Name()] {
			if s := x.AddPod(state, pod, add, node); !s.IsSuccess() {
				return s.WithPlugin(p.Name())
			}
		}
	}
	return nil
}

// RunPreFilterExtensionRemovePod tells the PreFilter plugins that remove left node.
func (f *Framework) RunPreFilterExtensionRemovePod(state *CycleState, pod *corev1.Pod, remove *PodInfo, node *NodeInfo) *Status {
	for _, p := range f.preFilter {
		if x, ok := p.(PreFilterExtensions); ok && !state.SkipFilter[p.Name()] {
			if s := x.RemovePod(state, pod, remove, node); !s.IsSuccess() {
				return s.WithPlugin(p.Name())
			}
		}
	}
	return nil
}

// PodPriority is the pod's resolved priority (0 when unset).
func PodPriority(pod *corev1.Pod) int32 {
	if pod.Spec.Priority != nil {
		return *pod.Spec.Priority
	}
	return 0
}
