package tainttoleration

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/scheduler/framework"
)

func TestFilter(t *testing.T) {
	taint := func(e corev1.TaintEffect) corev1.Taint { return corev1.Taint{Key: "k", Value: "v", Effect: e} }
	tol := func(op corev1.TolerationOperator, e corev1.TaintEffect) corev1.Toleration {
		t := corev1.Toleration{Key: "k", Operator: op, Effect: e}
		if op == corev1.TolerationOpEqual {
			t.Value = "v"
		}
		return t
	}
	tests := []struct {
		name   string
		taints []corev1.Taint
		tols   []corev1.Toleration
		want   framework.Code
	}{
		{"untainted", nil, nil, framework.Success},
		{"NoSchedule not tolerated", []corev1.Taint{taint(corev1.TaintEffectNoSchedule)}, nil, framework.UnschedulableAndUnresolvable},
		{"NoExecute not tolerated", []corev1.Taint{taint(corev1.TaintEffectNoExecute)}, nil, framework.UnschedulableAndUnresolvable},
		{"PreferNoSchedule never filters", []corev1.Taint{taint(corev1.TaintEffectPreferNoSchedule)}, nil, framework.Success},
		{"Equal toleration", []corev1.Taint{taint(corev1.TaintEffectNoSchedule)}, []corev1.Toleration{tol(corev1.TolerationOpEqual, corev1.TaintEffectNoSchedule)}, framework.Success},
		{"Exists with any effect", []corev1.Taint{taint(corev1.TaintEffectNoExecute)}, []corev1.Toleration{tol(corev1.TolerationOpExists, "")}, framework.Success},
		{"wrong effect", []corev1.Taint{taint(corev1.TaintEffectNoExecute)}, []corev1.Toleration{tol(corev1.TolerationOpExists, corev1.TaintEffectNoSchedule)}, framework.UnschedulableAndUnresolvable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			node := framework.NewNodeInfo(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: corev1.NodeSpec{Taints: tc.taints}})
			pod := &corev1.Pod{Spec: corev1.PodSpec{Tolerations: tc.tols}}
			if got := (&TaintToleration{}).Filter(context.Background(), framework.NewCycleState(), pod, node); got.Code() != tc.want {
				t.Fatalf("code %v (%s), want %v", got.Code(), got.Message(), tc.want)
			}
		})
	}
}

func TestScorePrefersFewerUntoleratedPreferNoScheduleTaints(t *testing.T) {
	p := &TaintToleration{}
	cs := framework.NewCycleState()
	pod := &corev1.Pod{}
	_ = p.PreScore(context.Background(), cs, pod, nil)
	mk := func(n int) *framework.NodeInfo {
		var taints []corev1.Taint
		for i := range n {
			taints = append(taints, corev1.Taint{Key: string(rune('a' + i)), Effect: corev1.TaintEffectPreferNoSchedule})
		}
		return framework.NewNodeInfo(&corev1.Node{Spec: corev1.NodeSpec{Taints: taints}})
	}
	scores := make([]int64, 3)
	for i, n := range []int{0, 1, 2} {
		scores[i], _ = p.Score(context.Background(), cs, pod, mk(n))
	}
	_ = p.NormalizeScore(context.Background(), cs, pod, scores)
	if scores[0] != 100 || scores[1] != 50 || scores[2] != 0 {
		t.Fatalf("normalised scores %v, want [100 50 0]", scores)
	}
}
