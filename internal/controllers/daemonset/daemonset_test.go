package daemonset

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPodIsPinnedToItsNode(t *testing.T) {
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "ns"}}
	pod := newPod(ds, "h", "node-7")
	if podNode(pod) != "node-7" || pod.Labels[HashLabel] != "h" || len(pod.Spec.Tolerations) != len(defaultTolerations) {
		t.Fatalf("pod %+v", pod.Spec)
	}
	if !matchesNodeSelector(pod.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-7"}}) {
		t.Fatal("pin does not match its node")
	}
	if matchesNodeSelector(pod.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-8"}}) {
		t.Fatal("pin matches another node")
	}
}
