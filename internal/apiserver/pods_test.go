package apiserver_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
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

// runningPod creates a pod on node n1 and reports it Running, Ready or not, as its kubelet would.
func runningPod(t *testing.T, ns, name string, ready bool, lbls ...string) {
	t.Helper()
	pods := cluster.Client.CoreV1().Pods(ns)
	created, err := pods.Create(ctx(t), pod(name).node("n1").labels(lbls...).obj(), createOpts)
	if err != nil {
		t.Fatal(err)
	}
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	created.Status.Phase = corev1.PodRunning
	created.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
	if _, err := pods.UpdateStatus(ctx(t), created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// budget creates a PodDisruptionBudget on app=<app> and gives it the status the disruption
// controller would compute for current healthy pods out of expected.
func budget(t *testing.T, ns, name, app string, minAvailable, current, expected int32) *policyv1.PodDisruptionBudget {
	t.Helper()
	pdbs := cluster.Client.PolicyV1().PodDisruptionBudgets(ns)
	ma := intstr.FromInt32(minAvailable)
	created, err := pdbs.Create(ctx(t), &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &ma, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}},
	}, createOpts)
	if err != nil {
		t.Fatal(err)
	}
	created.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: created.Generation, CurrentHealthy: current,
		DesiredHealthy: minAvailable, ExpectedPods: expected, DisruptionsAllowed: max(0, current-minAvailable)}
	updated, err := pdbs.UpdateStatus(ctx(t), created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return updated
}

func evictPod(t *testing.T, ns, name string, dryRun bool) error {
	ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	if dryRun {
		ev.DeleteOptions = &metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}
	}
	return cluster.Client.CoreV1().Pods(ns).EvictV1(ctx(t), ev)
}

func terminating(t *testing.T, ns, name string) bool {
	got, err := cluster.Client.CoreV1().Pods(ns).Get(ctx(t), name, metav1.GetOptions{})
	return apierrors.IsNotFound(err) || err == nil && got.DeletionTimestamp != nil
}

func TestEvictionHonoursDisruptionBudgets(t *testing.T) {
	ns := namespace(t)
	runningPod(t, ns, "guarded", true, "app", "guarded")
	runningPod(t, ns, "free", true, "app", "free")
	// The disruption controller's view: one healthy pod, none may go.
	budget(t, ns, "guard", "guarded", 1, 1, 1)
	err := evictPod(t, ns, "guarded", false)
	if !apierrors.IsTooManyRequests(err) || !strings.Contains(err.Error(), "The disruption budget guard needs 1 healthy pods and has 1 currently") {
		t.Fatalf("evicting a pod its budget protects: want 429 naming the budget, got %v", err)
	}
	if err := evictPod(t, ns, "free", false); err != nil {
		t.Fatalf("evicting an unprotected pod: %v", err)
	}
	if !terminating(t, ns, "free") || terminating(t, ns, "guarded") {
		t.Fatalf("want only the unprotected pod terminating")
	}
}

func TestEvictionConsumesDisruptionBudget(t *testing.T) {
	ns := namespace(t)
	for _, name := range []string{"web-0", "web-1", "web-2"} {
		runningPod(t, ns, name, true, "app", "web")
	}
	budget(t, ns, "web", "web", 2, 3, 3) // one disruption allowed
	// Two evictions race for the one disruption: exactly one gets it.
	errs := make(chan error, 2)
	for _, name := range []string{"web-0", "web-1"} {
		go func() { errs <- evictPod(t, ns, name, false) }()
	}
	var ok, refused int
	for range 2 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case apierrors.IsTooManyRequests(err):
			refused++
		default:
			t.Fatalf("eviction: %v", err)
		}
	}
	if ok != 1 || refused != 1 {
		t.Fatalf("%d evictions went through and %d were refused, want 1 and 1", ok, refused)
	}
	pdb, err := cluster.Client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx(t), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pdb.Status.DisruptionsAllowed != 0 || len(pdb.Status.DisruptedPods) != 1 {
		t.Fatalf("budget status after one eviction: %+v, want 0 allowed and the evicted pod recorded", pdb.Status)
	}
	for name, at := range pdb.Status.DisruptedPods {
		if !terminating(t, ns, name) || time.Since(at.Time) > time.Minute {
			t.Fatalf("disruptedPods %v: want the terminating pod, recorded now", pdb.Status.DisruptedPods)
		}
	}
	c := apimeta.FindStatusCondition(pdb.Status.Conditions, policyv1.DisruptionAllowedCondition)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != policyv1.InsufficientPodsReason {
		t.Fatalf("condition %+v, want DisruptionAllowed False/InsufficientPods", c)
	}
	if err := evictPod(t, ns, "web-2", false); !apierrors.IsTooManyRequests(err) {
		t.Fatalf("third eviction: want 429, got %v", err)
	}
}

func TestEvictionDryRunLeavesBudgetAlone(t *testing.T) {
	ns := namespace(t)
	runningPod(t, ns, "web-0", true, "app", "web")
	runningPod(t, ns, "web-1", true, "app", "web")
	before := budget(t, ns, "web", "web", 1, 2, 2)
	if err := evictPod(t, ns, "web-0", true); err != nil {
		t.Fatalf("dry-run eviction: %v", err)
	}
	after, err := cluster.Client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx(t), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != before.ResourceVersion || after.Status.DisruptionsAllowed != 1 || terminating(t, ns, "web-0") {
		t.Fatalf("dry run changed something: budget %+v (rv %s→%s)", after.Status, before.ResourceVersion, after.ResourceVersion)
	}
	if err := evictPod(t, ns, "web-0", false); err != nil {
		t.Fatal(err)
	}
	if err := evictPod(t, ns, "web-1", true); !apierrors.IsTooManyRequests(err) {
		t.Fatalf("dry-run eviction against an exhausted budget: want 429, got %v", err)
	}
}

func TestEvictionOfUnreadyPodInHealthyBudget(t *testing.T) {
	ns := namespace(t)
	runningPod(t, ns, "ok-0", true, "app", "web")
	runningPod(t, ns, "ok-1", true, "app", "web")
	runningPod(t, ns, "broken", false, "app", "web")
	budget(t, ns, "web", "web", 2, 2, 3) // healthy, but no disruption allowed
	if err := evictPod(t, ns, "broken", false); err != nil {
		t.Fatalf("evicting an unready pod while its budget is healthy: %v", err)
	}
	if err := evictPod(t, ns, "ok-0", false); !apierrors.IsTooManyRequests(err) {
		t.Fatalf("evicting a ready pod: want 429, got %v", err)
	}
	pdb, _ := cluster.Client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx(t), "web", metav1.GetOptions{})
	if !terminating(t, ns, "broken") || len(pdb.Status.DisruptedPods) != 0 {
		t.Fatalf("want the unready pod gone without taking from the budget: %+v", pdb.Status)
	}
}

func TestEvictionWithTwoDisruptionBudgets(t *testing.T) {
	ns := namespace(t)
	runningPod(t, ns, "web-0", true, "app", "web")
	budget(t, ns, "one", "web", 0, 1, 1)
	budget(t, ns, "two", "web", 0, 1, 1)
	err := evictPod(t, ns, "web-0", false)
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Code != 500 ||
		status.Status().Message != "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support." {
		t.Fatalf("want 500 refusing two budgets, got %v", err)
	}
	if terminating(t, ns, "web-0") {
		t.Fatal("pod deleted despite the refusal")
	}
}
