package scheduler_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestScores(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(ns string) *corev1.Pod
		pod       func(ns string) *corev1.Pod
		wantNodes []string
	}{
		{name: "LeastAllocated prefers the emptier big nodes",
			pod: func(ns string) *corev1.Pod { return makePod(ns, "p").cpu("1").obj() }, wantNodes: []string{"big-"}},
		{name: "preferred node affinity outweighs free capacity",
			pod: func(ns string) *corev1.Pod {
				return makePod(ns, "p").cpu("1").preferNode(100, req("zone", corev1.NodeSelectorOpIn, "a")).obj()
			}, wantNodes: []string{"small-"}},
		{name: "preferred pod affinity joins the zone of a matching pod",
			setup: func(ns string) *corev1.Pod { return makePod(ns, "a").label("app", "cache").onNode("small-2").obj() },
			pod: func(ns string) *corev1.Pod {
				p := makePod(ns, "p").cpu("1").obj()
				p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{
					{Weight: 100, PodAffinityTerm: podTerm("app", "cache", "zone")},
				}}}
				return p
			}, wantNodes: []string{"small-"}},
		{name: "ScheduleAnyway topology spread avoids the crowded zone",
			setup: func(ns string) *corev1.Pod { return makePod(ns, "a").label("app", "w").selector("zone", "b").obj() },
			pod: func(ns string) *corev1.Pod {
				return makePod(ns, "p").label("app", "w").nodeAffinity(req("zone", corev1.NodeSelectorOpIn, "a", "b")).
					spread(1, "zone", corev1.ScheduleAnyway, "app", "w").obj()
			}, wantNodes: []string{"small-"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := namespace(t)
			if tc.setup != nil {
				p := create(t, tc.setup(ns))
				waitBound(t, cluster.Client, ns, p.Name)
			}
			create(t, tc.pod(ns))
			if node := waitBound(t, cluster.Client, ns, "p"); !hasPrefix(node, tc.wantNodes...) {
				t.Fatalf("bound to %s, want one of %v", node, tc.wantNodes)
			}
		})
	}
}
