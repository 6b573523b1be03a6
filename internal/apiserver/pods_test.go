package apiserver_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestBindingAssignsANodeOnce(t *testing.T) {
	ns := namespace(t)
	pods := cluster.Client.CoreV1().Pods(ns)
	if _, err := pods.Create(ctx(t), pod("p").obj(), createOpts); err != nil {
		t.Fatal(err)
	}
	bind := func(node string) error {
		return pods.Bind(ctx(t), &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Target: corev1.ObjectReference{Kind: "Node", Name: node}}, createOpts)
	}
	if err := bind("n1"); err != nil {
		t.Fatal(err)
	}
	got, _ := pods.Get(ctx(t), "p", metav1.GetOptions{})
	scheduled := false
	for _, c := range got.Status.Conditions {
		scheduled = scheduled || c.Type == corev1.PodScheduled && c.Status == corev1.ConditionTrue
	}
	if got.Spec.NodeName != "n1" || !scheduled {
		t.Fatalf("after binding: node %q, conditions %v", got.Spec.NodeName, got.Status.Conditions)
	}
	if err := bind("n2"); !apierrors.IsConflict(err) {
		t.Fatalf("second binding: want Conflict, got %v", err)
	}
}

func TestEvictionHonoursDisruptionBudgets(t *testing.T) {
	ns := namespace(t)
	pods := cluster.Client.CoreV1().Pods(ns)
	for _, name := range []string{"guarded", "free"} {
		p := pod(name).node("n1").labels("app", name).obj()
		created, err := pods.Create(ctx(t), p, createOpts)
		if err != nil {
			t.Fatal(err)
		}
		created.Status.Phase = corev1.PodRunning
		if _, err := pods.UpdateStatus(ctx(t), created, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	one := intstr.FromInt32(1)
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "guard"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "guarded"}}},
	}
	created, err := cluster.Client.PolicyV1().PodDisruptionBudgets(ns).Create(ctx(t), pdb, createOpts)
	if err != nil {
		t.Fatal(err)
	}
	// The disruption controller's view: one healthy pod, none may go.
	created.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: created.Generation, CurrentHealthy: 1, DesiredHealthy: 1, ExpectedPods: 1}
	if _, err := cluster.Client.PolicyV1().PodDisruptionBudgets(ns).UpdateStatus(ctx(t), created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	evict := func(name string) error {
		return pods.EvictV1(ctx(t), &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}})
	}
	if err := evict("guarded"); !apierrors.IsTooManyRequests(err) {
		t.Fatalf("evicting a pod its budget protects: want 429, got %v", err)
	}
	if err := evict("free"); err != nil {
		t.Fatalf("evicting an unprotected pod: %v", err)
	}
	got, err := pods.Get(ctx(t), "free", metav1.GetOptions{})
	if err != nil || got.DeletionTimestamp == nil {
		t.Fatalf("evicted pod: %v %v, want it terminating", got, err)
	}
}
