package replicaset

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type podBuilder struct{ p *corev1.Pod }

func pod(name string) *podBuilder {
	return &podBuilder{&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.Unix(100, 0)}}}
}
func (b *podBuilder) node(n string) *podBuilder { b.p.Spec.NodeName = n; return b }
func (b *podBuilder) phase(p corev1.PodPhase) *podBuilder {
	b.p.Status.Phase = p
	return b
}
func (b *podBuilder) readyAt(sec int64) *podBuilder {
	b.p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Unix(sec, 0)}}
	return b
}
func (b *podBuilder) restarts(n int32) *podBuilder {
	b.p.Status.ContainerStatuses = []corev1.ContainerStatus{{RestartCount: n}}
	return b
}
func (b *podBuilder) created(sec int64) *podBuilder {
	b.p.CreationTimestamp = metav1.NewTime(time.Unix(sec, 0))
	return b
}

func TestDeletionRanking(t *testing.T) {
	tests := []struct {
		name string
		a, b *corev1.Pod // a must go before b
	}{
		{"unscheduled first", pod("a").obj(), pod("b").node("n").obj()},
		{"pending before running", pod("a").node("n").phase(corev1.PodPending).obj(), pod("b").node("n").phase(corev1.PodRunning).obj()},
		{"unknown before running", pod("a").node("n").phase(corev1.PodUnknown).obj(), pod("b").node("n").phase(corev1.PodRunning).obj()},
		{"not ready before ready", pod("a").node("n").phase(corev1.PodRunning).obj(), pod("b").node("n").phase(corev1.PodRunning).readyAt(5).obj()},
		{"ready for less time first", pod("a").node("n").phase(corev1.PodRunning).readyAt(50).obj(), pod("b").node("n").phase(corev1.PodRunning).readyAt(5).obj()},
		{"more restarts first", pod("a").node("n").restarts(3).obj(), pod("b").node("n").restarts(1).obj()},
		{"newer first", pod("a").created(200).obj(), pod("b").created(100).obj()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !lessValuable(tc.a, tc.b) || lessValuable(tc.b, tc.a) {
				t.Fatalf("want %s ranked below %s", tc.a.Name, tc.b.Name)
			}
			got := podsToDelete([]*corev1.Pod{tc.b, tc.a}, 1)
			if got[0] != tc.a {
				t.Fatalf("podsToDelete picked %s", got[0].Name)
			}
		})
	}
}

func (b *podBuilder) obj() *corev1.Pod { return b.p }
