package tainteviction

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/controller/controllertest"
)

var env *controllertest.Env

func TestMain(m *testing.M) { controllertest.Main(m, &env) }

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

func TestEvictsFromTaintedNode(t *testing.T) {
	ns := env.Namespace(t)
	f := env.Factory()
	c, err := New(Config{Client: env.Client, Nodes: f.Core().V1().Nodes(), Pods: f.Core().V1().Pods()})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Run(t, f, c)
	ctx := context.Background()
	node := "evict-node"
	if _, err := env.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.CoreV1().Nodes().Delete(ctx, node, metav1.DeleteOptions{}) })
	mk := func(name string, tols ...corev1.Toleration) {
		_, err := env.Client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{NodeName: node, Tolerations: tols, Containers: []corev1.Container{{Name: "c", Image: "x"}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	mk("brief", corev1.Toleration{Key: "example.com/broken", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: secs(3)})
	mk("forever", corev1.Toleration{Key: "example.com/broken", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute})
	mk("none")
	n, _ := env.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	now := metav1.Now()
	n.Spec.Taints = []corev1.Taint{{Key: "example.com/broken", Effect: corev1.TaintEffectNoExecute, TimeAdded: &now}}
	if _, err := env.Client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	evicted := func(name string) bool {
		p, err := env.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err) || err == nil && p.DeletionTimestamp != nil
	}
	controllertest.Eventually(t, 5*time.Second, func() (bool, string) { return evicted("none"), "untolerating pod not evicted" })
	// On a loaded machine noticing the first eviction can itself take a while: only an eviction
	// well inside the 3s toleration is wrong.
	if evicted("brief") && time.Since(now.Time) < 2*time.Second {
		t.Fatal("pod tolerating 3s evicted at once")
	}
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) { return evicted("brief"), "pod not evicted after its 3s" })
	if evicted("forever") {
		t.Fatal("pod tolerating forever evicted")
	}
}
