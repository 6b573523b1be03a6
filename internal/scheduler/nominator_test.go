package scheduler

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func nominatedPod(uid, node string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: uid, UID: types.UID(uid)}, Status: corev1.PodStatus{NominatedNodeName: node}}
}

func TestNominatorFollowsPodUpdates(t *testing.T) {
	for _, tc := range []struct {
		name     string
		inMemory string // nomination preemption recorded before the update
		old, cur string // status.nominatedNodeName before and after
		want     string
	}{
		{"status nominates", "", "", "n1", "n1"},
		{"status moves the nomination", "n1", "n1", "n2", "n2"},
		{"status clears it", "n1", "n1", "", ""},
		{"preemption's nomination stands until its patch arrives", "n1", "", "", "n1"},
		{"no nomination anywhere", "", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNominator()
			if tc.inMemory != "" {
				n.add(nominatedPod("p", ""), tc.inMemory)
			}
			n.update(nominatedPod("p", tc.old), nominatedPod("p", tc.cur))
			if got := n.nodeFor("p"); got != tc.want {
				t.Fatalf("nominated to %q, want %q", got, tc.want)
			}
			for _, node := range []string{"n1", "n2"} {
				if got, want := len(n.podsFor(node)), map[bool]int{true: 1, false: 0}[node == tc.want]; got != want {
					t.Errorf("%d pods nominated to %s, want %d", got, node, want)
				}
			}
		})
	}
}

func TestNominatorRemove(t *testing.T) {
	n := newNominator()
	n.add(nominatedPod("a", ""), "n1")
	n.add(nominatedPod("b", ""), "n1")
	n.add(nominatedPod("a", ""), "n2") // a moves
	n.remove("b")
	if got := len(n.podsFor("n1")); got != 0 {
		t.Errorf("%d pods still nominated to n1", got)
	}
	if got := n.podsFor("n2"); len(got) != 1 || got[0].Pod.UID != "a" {
		t.Errorf("n2 holds %v, want pod a", got)
	}
}
