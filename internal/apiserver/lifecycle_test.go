package apiserver_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestFinalizersHoldDeletion(t *testing.T) {
	ns := namespace(t)
	cms := cluster.Client.CoreV1().ConfigMaps(ns)
	c := cm("held", nil)
	c.Finalizers = []string{"example.com/hold"}
	if _, err := cms.Create(ctx(t), c, createOpts); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx(t), "held", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := cms.Get(ctx(t), "held", metav1.GetOptions{})
	if err != nil || got.DeletionTimestamp == nil {
		t.Fatalf("object with finalizer: %v %v, want it kept with deletionTimestamp", got, err)
	}
	// Further changes other than finalizers are still allowed; removing the last finalizer deletes.
	got.Finalizers = nil
	if _, err := cms.Update(ctx(t), got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx(t), "held", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("after removing the last finalizer: want NotFound, got %v", err)
	}
}

func TestForegroundAndOrphanPropagationAddFinalizers(t *testing.T) {
	ns := namespace(t)
	cms := cluster.Client.CoreV1().ConfigMaps(ns)
	for _, tc := range []struct {
		policy    metav1.DeletionPropagation
		finalizer string
	}{{metav1.DeletePropagationForeground, metav1.FinalizerDeleteDependents}, {metav1.DeletePropagationOrphan, metav1.FinalizerOrphanDependents}} {
		name := "p-" + string(tc.policy)
		if _, err := cms.Create(ctx(t), cm(lower(name), nil), createOpts); err != nil {
			t.Fatal(err)
		}
		p := tc.policy
		if err := cms.Delete(ctx(t), lower(name), metav1.DeleteOptions{PropagationPolicy: &p}); err != nil {
			t.Fatal(err)
		}
		got, err := cms.Get(ctx(t), lower(name), metav1.GetOptions{})
		if err != nil || got.DeletionTimestamp == nil || len(got.Finalizers) != 1 || got.Finalizers[0] != tc.finalizer {
			t.Fatalf("%s: got %+v, %v; want deletionTimestamp and finalizer %s", tc.policy, got, err, tc.finalizer)
		}
	}
}

func TestGracefulPodDeletion(t *testing.T) {
	ns := namespace(t)
	pods := cluster.Client.CoreV1().Pods(ns)
	if _, err := pods.Create(ctx(t), pod("bound").node("n1").obj(), createOpts); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Create(ctx(t), pod("pending").obj(), createOpts); err != nil {
		t.Fatal(err)
	}
	// An unscheduled pod goes at once.
	if err := pods.Delete(ctx(t), "pending", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx(t), "pending", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("unscheduled pod: want NotFound after delete, got %v", err)
	}
	// A bound pod is marked with its grace period and waits for its kubelet.
	if err := pods.Delete(ctx(t), "bound", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := pods.Get(ctx(t), "bound", metav1.GetOptions{})
	if err != nil || got.DeletionTimestamp == nil || got.DeletionGracePeriodSeconds == nil || *got.DeletionGracePeriodSeconds != 30 {
		t.Fatalf("bound pod after delete: %+v %v; want deletionTimestamp and grace 30", got, err)
	}
	zero := int64(0)
	if err := pods.Delete(ctx(t), "bound", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx(t), "bound", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("bound pod after delete with grace 0: want NotFound, got %v", err)
	}
}

func TestNamespaceLifecycle(t *testing.T) {
	_, err := cluster.Client.CoreV1().ConfigMaps("no-such-ns").Create(ctx(t), cm("x", nil), createOpts)
	if !apierrors.IsNotFound(err) {
		t.Fatalf("create in missing namespace: want NotFound, got %v", err)
	}
	for _, name := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		if _, err := cluster.Client.CoreV1().Namespaces().Get(ctx(t), name, metav1.GetOptions{}); err != nil {
			t.Fatalf("built-in namespace %s: %v", name, err)
		}
	}
	if err := cluster.Client.CoreV1().Namespaces().Delete(ctx(t), "kube-system", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("delete kube-system: want Forbidden, got %v", err)
	}
	ns := namespace(t)
	if err := cluster.Client.CoreV1().Namespaces().Delete(ctx(t), ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := cluster.Client.CoreV1().Namespaces().Get(ctx(t), ns, metav1.GetOptions{})
	if err != nil || got.Status.Phase != corev1.NamespaceTerminating {
		t.Fatalf("deleted namespace: %+v %v, want Terminating", got, err)
	}
	_, err = cluster.Client.CoreV1().ConfigMaps(ns).Create(ctx(t), cm("x", nil), createOpts)
	if !apierrors.IsForbidden(err) {
		t.Fatalf("create in terminating namespace: want Forbidden, got %v", err)
	}
	// Finalizing (what the namespace controller does once the contents are gone) removes it.
	got.Spec.Finalizers = nil
	if _, err := cluster.Client.CoreV1().Namespaces().Finalize(ctx(t), got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Client.CoreV1().Namespaces().Get(ctx(t), ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("finalized namespace: want NotFound, got %v", err)
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}
