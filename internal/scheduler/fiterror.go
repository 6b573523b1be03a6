package scheduler

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/klite/klite/internal/scheduler/framework"
)

// ErrNoNodesAvailable is upstream's message when the cluster has no nodes.
var ErrNoNodesAvailable = errors.New("no nodes available to schedule pods")

// Diagnosis records why each node was rejected.
type Diagnosis struct {
	NodeToStatus map[string]*framework.Status
	// AbsentStatus applies to AbsentCount nodes that PreFilter ruled out by name.
	AbsentStatus         *framework.Status
	AbsentCount          int
	PreFilterMsg         string
	PreFilterStatus      *framework.Status
	PostFilterMsg        string
	UnschedulablePlugins sets.Set[string]
}

// FitError says a pod fits no node, and why.
type FitError struct {
	Pod         *corev1.Pod
	NumAllNodes int
	Diagnosis   *Diagnosis
}

// Error counts the reasons over nodes exactly as upstream prints them:
// "0/7 nodes are available: 3 Insufficient cpu, 4 node(s) didn't match Pod's node affinity/selector."
func (f *FitError) Error() string {
	msg := fmt.Sprintf("0/%d nodes are available:", f.NumAllNodes)
	d := f.Diagnosis
	if d.PreFilterMsg != "" {
		msg += " " + d.PreFilterMsg + "."
	} else if hist := f.histogram(); len(hist) > 0 {
		msg += " " + strings.Join(hist, ", ") + "."
	}
	if d.PostFilterMsg != "" {
		msg += " " + d.PostFilterMsg
	}
	return msg
}

func (f *FitError) histogram() []string {
	reasons := map[string]int{}
	for _, st := range f.Diagnosis.NodeToStatus {
		for _, r := range st.Reasons() {
			reasons[r]++
		}
	}
	if f.Diagnosis.AbsentStatus != nil {
		for _, r := range f.Diagnosis.AbsentStatus.Reasons() {
			reasons[r] += f.Diagnosis.AbsentCount
		}
	}
	out := make([]string, 0, len(reasons))
	for r, n := range reasons {
		out = append(out, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(out)
	return out
}
