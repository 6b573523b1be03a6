package scheduler

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/klite/klite/internal/scheduler/framework"
)

func TestNumFeasibleNodesToFind(t *testing.T) {
	tests := []struct {
		percentage int32
		nodes      int
		want       int
	}{
		{0, 50, 50}, {0, 100, 0}, {0, 500, 230}, {0, 1000, 420}, {0, 5000, 500}, {0, 6000, 300},
		{10, 500, 100}, {100, 5000, 5000}, {50, 1000, 500},
	}
	tests[1].want = 100 // 50% of 100 is below the floor of 100
	for _, tc := range tests {
		if got := numFeasibleNodesToFind(tc.percentage, tc.nodes); got != tc.want {
			t.Errorf("numFeasibleNodesToFind(%d%%, %d) = %d, want %d", tc.percentage, tc.nodes, got, tc.want)
		}
	}
}

func TestFitErrorMessage(t *testing.T) {
	st := func(r ...string) *framework.Status { return framework.NewStatus(framework.Unschedulable, r...) }
	tests := []struct {
		name string
		err  FitError
		want string
	}{
		{"the issue's example", FitError{NumAllNodes: 7, Diagnosis: &Diagnosis{NodeToStatus: map[string]*framework.Status{
			"a": st("Insufficient cpu"), "b": st("Insufficient cpu"), "c": st("Insufficient cpu"),
			"d": st("node(s) didn't match Pod's node affinity/selector"), "e": st("node(s) didn't match Pod's node affinity/selector"),
			"f": st("node(s) didn't match Pod's node affinity/selector"), "g": st("node(s) didn't match Pod's node affinity/selector"),
		}}}, "0/7 nodes are available: 3 Insufficient cpu, 4 node(s) didn't match Pod's node affinity/selector."},
		{"several reasons on one node are each counted", FitError{NumAllNodes: 1, Diagnosis: &Diagnosis{NodeToStatus: map[string]*framework.Status{
			"a": st("Insufficient cpu", "Insufficient memory")}}}, "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory."},
		{"prefilter message replaces the histogram", FitError{NumAllNodes: 2, Diagnosis: &Diagnosis{PreFilterMsg: "pod has unbound immediate PersistentVolumeClaims",
			PostFilterMsg: "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."}},
			"0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestSelectHostRoundRobinsAmongEqualScores(t *testing.T) {
	s := &Scheduler{}
	scores := []framework.NodeScore{{Name: "a", Total: 5}, {Name: "b", Total: 9}, {Name: "c", Total: 9}, {Name: "d", Total: 9}}
	var got []string
	for range 4 {
		got = append(got, s.selectHost(scores))
	}
	if want := []string{"b", "c", "d", "b"}; !equal(got, want) {
		t.Fatalf("picks %v, want %v", got, want)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var _ = corev1.PodRunning
