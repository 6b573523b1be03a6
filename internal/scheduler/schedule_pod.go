package scheduler

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/klite/klite/internal/scheduler/framework"
)

// Upstream's node sampling constants.
const (
	minFeasibleNodesToFind           = 100
	minFeasibleNodesPercentageToFind = 5
)

// result is a successful placement decision.
type result struct {
	node      string
	evaluated int
	feasible  int
	scores    []framework.NodeScore // nil when there was one feasible node
}

// schedulePod picks a node for pod, or returns a *FitError (or another error).
func (s *Scheduler) schedulePod(ctx context.Context, fw *framework.Framework, state *framework.CycleState, pod *corev1.Pod, snap *framework.Snapshot) (*result, error) {
	if len(snap.Nodes) == 0 {
		return nil, ErrNoNodesAvailable
	}
	feasible, diag, err := s.findFeasible(ctx, fw, state, pod, snap)
	if err != nil {
		return nil, err
	}
	if len(feasible) == 0 {
		return nil, &FitError{Pod: pod, NumAllNodes: len(snap.Nodes), Diagnosis: diag}
	}
	res := &result{evaluated: len(feasible) + len(diag.NodeToStatus), feasible: len(feasible)}
	if len(feasible) == 1 {
		res.node = feasible[0].Name()
		return res, nil
	}
	if st := fw.RunPreScorePlugins(ctx, state, pod, feasible); !st.IsSuccess() {
		return nil, st.AsError()
	}
	scores, st := fw.RunScorePlugins(ctx, state, pod, feasible)
	if !st.IsSuccess() {
		return nil, st.AsError()
	}
	res.scores = scores
	res.node = s.selectHost(scores)
	return res, nil
}

// selectHost returns the best-scoring node; among equals it takes them in turn (round-robin).
func (s *Scheduler) selectHost(scores []framework.NodeScore) string {
	best := scores[0].Total
	var ties []int
	for i, sc := range scores {
		switch {
		case sc.Total > best:
			best, ties = sc.Total, ties[:0]
			ties = append(ties, i)
		case sc.Total == best:
			ties = append(ties, i)
		}
	}
	pick := ties[s.roundRobin%len(ties)]
	s.roundRobin++
	return scores[pick].Name
}

// findFeasible runs PreFilter, then Filter over the nodes from a rotating start until
// numFeasibleNodesToFind are found. Nodes are judged in parallel chunks but taken in order, so
// the outcome does not depend on goroutine timing.
func (s *Scheduler) findFeasible(ctx context.Context, fw *framework.Framework, state *framework.CycleState, pod *corev1.Pod, snap *framework.Snapshot) ([]*framework.NodeInfo, *Diagnosis, error) {
	diag := &Diagnosis{NodeToStatus: map[string]*framework.Status{}}
	pre, st, plugins := fw.RunPreFilterPlugins(ctx, state, pod, snap.Nodes)
	if !st.IsSuccess() {
		if !st.IsRejected() {
			return nil, nil, st.AsError()
		}
		diag.PreFilterMsg, diag.PreFilterStatus, diag.UnschedulablePlugins = st.Message(), st, plugins
		return nil, diag, nil
	}
	diag.UnschedulablePlugins = sets.New[string]()
	nodes := snap.Nodes
	if pre != nil && pre.NodeNames != nil {
		nodes = slices.DeleteFunc(slices.Clone(nodes), func(n *framework.NodeInfo) bool { return !pre.NodeNames.Has(n.Name()) })
		diag.AbsentStatus = framework.NewStatus(framework.UnschedulableAndUnresolvable,
			fmt.Sprintf("node(s) didn't satisfy plugin(s) %v", sets.List(plugins)))
		diag.AbsentCount = len(snap.Nodes) - len(nodes)
	}
	if len(nodes) == 0 {
		return nil, diag, nil
	}
	want := numFeasibleNodesToFind(fw.Profile.PercentageOfNodesToScore, len(nodes))
	if !fw.HasScorePlugins() {
		want = 1
	}
	feasible, processed, err := s.filterNodes(ctx, fw, state, pod, nodes, want, diag)
	s.nextStart = (s.nextStart + processed) % len(snap.Nodes)
	return feasible, diag, err
}

func (s *Scheduler) filterNodes(ctx context.Context, fw *framework.Framework, state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo, want int, diag *Diagnosis) ([]*framework.NodeInfo, int, error) {
	n := len(nodes)
	start := s.nextStart % n
	feasible := make([]*framework.NodeInfo, 0, want)
	statuses := make([]*framework.Status, n)
	processed := 0
	for processed < n && len(feasible) < want {
		chunk := min(n-processed, max(want-len(feasible), 4*fw.Parallelism))
		base := processed
		fw.Parallelize(ctx, chunk, func(i int) {
			statuses[base+i] = fw.RunFilterPluginsWithNominatedPods(ctx, state, pod, nodes[(start+base+i)%n])
		})
		for i := range chunk {
			node, st := nodes[(start+base+i)%n], statuses[base+i]
			processed++
			switch {
			case st.IsSuccess():
				feasible = append(feasible, node)
			case st.Code() == framework.Error:
				return nil, processed, st.AsError()
			default:
				diag.NodeToStatus[node.Name()] = st
				diag.UnschedulablePlugins.Insert(st.Plugin())
			}
			if len(feasible) == want {
				break
			}
		}
	}
	return feasible, processed, nil
}

// numFeasibleNodesToFind is upstream's sampling rule: all nodes below 100, else a percentage
// (adaptive by default: 50% minus 1% per 125 nodes, at least 5%), never fewer than 100.
func numFeasibleNodesToFind(percentage int32, numAll int) int {
	if numAll < minFeasibleNodesToFind {
		return numAll
	}
	if percentage == 0 {
		percentage = max(int32(50)-int32(numAll/125), minFeasibleNodesPercentageToFind)
	}
	if percentage >= 100 {
		return numAll
	}
	return max(numAll*int(percentage)/100, minFeasibleNodesToFind)
}
