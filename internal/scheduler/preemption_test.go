package scheduler_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func priorityClass(t *testing.T, name string, value int32) {
	t.Helper()
	_, err := cluster.Client.SchedulingV1().PriorityClasses().Create(context.Background(),
		&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let the scheduler's informer see it
}

func (b *podBuilder) priority(class string) *podBuilder {
	b.p.Spec.PriorityClassName = class
	return b
}

func TestPreemption(t *testing.T) {
	priorityClass(t, "test-low", 10)
	priorityClass(t, "test-high", 1000)
	ns := namespace(t)
	pods := cluster.Client.CoreV1().Pods(ns)
	// Two low-priority pods fill small-0; the high-priority pod needs one of them gone.
	create(t, makePod(ns, "low-a").cpu("1").priority("test-low").onNode("small-0").obj())
	create(t, makePod(ns, "low-b").cpu("900m").priority("test-low").onNode("small-0").obj())
	waitBound(t, cluster.Client, ns, "low-a")
	waitBound(t, cluster.Client, ns, "low-b")
	never := corev1.PreemptNever
	polite := makePod(ns, "polite").cpu("1").priority("test-high").onNode("small-0").obj()
	polite.Spec.PreemptionPolicy = &never
	create(t, polite)
	want := "0/7 nodes are available: 1 Insufficient cpu, 6 node(s) didn't satisfy plugin(s) [NodeAffinity]. preemption: not eligible due to preemptionPolicy=Never."
	if got := waitUnschedulable(t, ns, "polite"); got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
	if err := pods.Delete(context.Background(), "polite", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	create(t, makePod(ns, "high").cpu("1").priority("test-high").onNode("small-0").obj())
	if node := waitBound(t, cluster.Client, ns, "high"); node != "small-0" {
		t.Fatalf("high-priority pod bound to %s", node)
	}
	// Exactly one victim suffices; upstream evicts the less important one (low-b started later).
	remaining, victim := 0, ""
	for _, name := range []string{"low-a", "low-b"} {
		if _, err := pods.Get(context.Background(), name, metav1.GetOptions{}); err == nil {
			remaining++
		} else {
			victim = name
		}
	}
	if remaining != 1 {
		t.Fatalf("%d of the 2 low-priority pods remain, want 1 evicted", 2-remaining)
	}
	high, err := pods.Get(context.Background(), "high", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want = fmt.Sprintf("Preempted by pod %s on node small-0", high.UID)
	eventually(t, 10e9, "Preempted event", func() (bool, string) {
		evs := eventsFor(t, ns, victim, "Preempted")
		return len(evs) == 1 && evs[0].Note == want && evs[0].Related != nil && evs[0].Related.Name == "high" &&
			len(evs[0].ManagedFields) == 1 && evs[0].ManagedFields[0].Manager == eventsAgent, fmt.Sprint(evs)
	})
}
