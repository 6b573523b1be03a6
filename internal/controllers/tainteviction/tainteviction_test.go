package tainteviction

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func secs(n int64) *int64 { return &n }

func TestEvictionTime(t *testing.T) {
	now := time.Unix(1000, 0)
	added := metav1.NewTime(now.Add(-10 * time.Second))
	unreachable := corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute, TimeAdded: &added}
	other := corev1.Taint{Key: "example.com/broken", Effect: corev1.TaintEffectNoExecute, TimeAdded: &added}
	tol := func(key string, s *int64) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: s}
	}
	tests := []struct {
		name   string
		taints []corev1.Taint
		tols   []corev1.Toleration
		evict  bool
		at     time.Time
	}{
		{"no taints", nil, nil, false, time.Time{}},
		{"not tolerated", []corev1.Taint{other}, nil, true, now},
		{"tolerated forever", []corev1.Taint{unreachable}, []corev1.Toleration{tol(corev1.TaintNodeUnreachable, nil)}, false, time.Time{}},
		{"tolerated 300s", []corev1.Taint{unreachable}, []corev1.Toleration{tol(corev1.TaintNodeUnreachable, secs(300))}, true, added.Add(300 * time.Second)},
		{"shortest wins", []corev1.Taint{unreachable}, []corev1.Toleration{tol(corev1.TaintNodeUnreachable, secs(300)), tol("", secs(5))}, true, added.Add(5 * time.Second)},
		{"one of two untolerated", []corev1.Taint{unreachable, other}, []corev1.Toleration{tol(corev1.TaintNodeUnreachable, nil)}, true, now},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{Tolerations: tc.tols}}
			at, evict := evictionTime(pod, tc.taints, now)
			if evict != tc.evict || (evict && !at.Equal(tc.at)) {
				t.Fatalf("got %v at %v, want %v at %v", evict, at, tc.evict, tc.at)
			}
		})
	}
}
