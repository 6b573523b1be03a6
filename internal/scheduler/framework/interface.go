package framework

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/events"
)

// MaxNodeScore is the highest normalised score a plugin gives a node.
const MaxNodeScore int64 = 100

// Plugin is anything the framework runs; Name is its registry name.
type Plugin interface {
	Name() string
}

// PreFilterResult narrows the nodes worth filtering; nil NodeNames means all nodes.
type PreFilterResult struct {
	NodeNames sets.Set[string]
}

// PreFilterPlugin computes per-pod state once per cycle; it may reject the pod outright or
// return Skip to have its Filter skipped for this pod.
type PreFilterPlugin interface {
	Plugin
	PreFilter(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) (*PreFilterResult, *Status)
}

// PreFilterExtensions let preemption update a PreFilter plugin's state as it removes victims.
type PreFilterExtensions interface {
	AddPod(state *CycleState, pod *corev1.Pod, add *PodInfo, node *NodeInfo) *Status
	RemovePod(state *CycleState, pod *corev1.Pod, remove *PodInfo, node *NodeInfo) *Status
}

// FilterPlugin judges whether pod can run on one node. It must not modify node.
type FilterPlugin interface {
	Plugin
	Filter(ctx context.Context, state *CycleState, pod *corev1.Pod, node *NodeInfo) *Status
}

// PostFilterPlugin runs when no node passed the filters (preemption).
type PostFilterPlugin interface {
	Plugin
	PostFilter(ctx context.Context, state *CycleState, pod *corev1.Pod, statuses map[string]*Status) (nominatedNode string, s *Status)
}

// PreScorePlugin computes per-pod state for scoring over the feasible nodes.
type PreScorePlugin interface {
	Plugin
	PreScore(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) *Status
}

// ScorePlugin rates one feasible node; scores are normalised to 0..MaxNodeScore.
type ScorePlugin interface {
	Plugin
	Score(ctx context.Context, state *CycleState, pod *corev1.Pod, node *NodeInfo) (int64, *Status)
}

// ScoreNormalizer rescales a plugin's raw scores (indexed like the nodes) into 0..MaxNodeScore.
type ScoreNormalizer interface {
	NormalizeScore(ctx context.Context, state *CycleState, pod *corev1.Pod, scores []int64) *Status
}

// ReservePlugin claims resources once a node is chosen; Unreserve undoes it on failure.
type ReservePlugin interface {
	Plugin
	Reserve(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string) *Status
	Unreserve(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string)
}

// PreBindPlugin runs before binding (volume binding).
type PreBindPlugin interface {
	Plugin
	PreBind(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string) *Status
}

// BindPlugin binds the pod; Skip passes to the next binder.
type BindPlugin interface {
	Plugin
	Bind(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string) *Status
}

// Resource kinds of cluster events that may make a pod schedulable.
type EventResource string

// Event resources.
const (
	Pod                   EventResource = "Pod" // an assigned pod
	Node                  EventResource = "Node"
	PersistentVolume      EventResource = "PersistentVolume"
	PersistentVolumeClaim EventResource = "PersistentVolumeClaim"
	StorageClass          EventResource = "StorageClass"
	Namespace             EventResource = "Namespace"
	WildCard              EventResource = "*"
)

// ActionType is a bit set of what happened to the resource.
type ActionType uint

// Actions.
const (
	Add ActionType = 1 << iota
	Update
	Delete
	All = Add | Update | Delete
)

// ClusterEvent is a change that might make unschedulable pods schedulable.
type ClusterEvent struct {
	Resource EventResource
	Action   ActionType
}

// Matches reports whether an event of interest e covers the actual event got.
func (e ClusterEvent) Matches(got ClusterEvent) bool {
	return (e.Resource == WildCard || got.Resource == WildCard || e.Resource == got.Resource) && e.Action&got.Action != 0
}

// EnqueueExtensions name the events after which a pod this plugin rejected is worth retrying.
type EnqueueExtensions interface {
	EventsToRegister() []ClusterEvent
}

// Handle is what plugins may use of the scheduler.
type Handle interface {
	Client() kubernetes.Interface
	Informers() informers.SharedInformerFactory
	// Snapshot is the node state of the running cycle.
	Snapshot() *Snapshot
	// Framework runs the profile's plugins (for preemption's what-ifs).
	Framework() *Framework
	// NominatedPodsForNode lists the pending pods preemption nominated to run on node. The
	// slice is the caller's; the PodInfos are shared and must not be modified.
	NominatedPodsForNode(node string) []*PodInfo
	// EventRecorder records events as the profile's scheduler.
	EventRecorder() events.EventRecorder
}

// Factory builds a plugin; args is the plugin's pluginConfig args as JSON (nil when absent).
type Factory func(ctx context.Context, args json.RawMessage, h Handle) (Plugin, error)

// Registry maps plugin names to factories.
type Registry map[string]Factory
