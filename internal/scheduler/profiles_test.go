package scheduler_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/informer"
	"github.com/klite/klite/internal/scheduler"
	"github.com/klite/klite/internal/scheduler/framework"
	"github.com/klite/klite/internal/scheduler/plugins"
)

func TestSecondSchedulerBindsOnlyItsOwnPods(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	if _, err := startScheduler(ctx, &wg, scheduler.Config{Profiles: []framework.Profile{plugins.DefaultProfile("second")}}); err != nil {
		t.Fatal(err)
	}
	ns := namespace(t)
	create(t, makePod(ns, "mine").schedulerName("second").obj())
	create(t, makePod(ns, "default").obj())
	create(t, makePod(ns, "nobodys").schedulerName("nobody").obj())
	for pod, wantReporter := range map[string]string{"mine": "second", "default": scheduler.DefaultSchedulerName} {
		waitBound(t, cluster.Client, ns, pod)
		eventually(t, 10*time.Second, "Scheduled event of "+pod, func() (bool, string) {
			evs := eventsFor(t, ns, pod, "Scheduled")
			if len(evs) == 0 {
				return false, "no event"
			}
			return evs[0].ReportingController == wantReporter, evs[0].ReportingController
		})
	}
	time.Sleep(500 * time.Millisecond)
	p, err := cluster.Client.CoreV1().Pods(ns).Get(context.Background(), "nobodys", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.NodeName != "" || len(p.Status.Conditions) != 0 || len(eventsFor(t, ns, "nobodys", "FailedScheduling")) != 0 {
		t.Fatalf("a pod for an absent scheduler was touched: node %q conditions %v", p.Spec.NodeName, p.Status.Conditions)
	}
}

func TestPodsSpreadOverEqualNodes(t *testing.T) {
	ns := namespace(t)
	for _, name := range []string{"a", "b", "c"} {
		create(t, makePod(ns, name).cpu("500m").selector("zone", "a").obj())
	}
	seen := map[string]bool{}
	for _, name := range []string{"a", "b", "c"} {
		seen[waitBound(t, cluster.Client, ns, name)] = true
	}
	if len(seen) != 3 {
		t.Fatalf("3 pods on 3 equal nodes landed on %v, want one each (LeastAllocated)", seen)
	}
}

func TestUnschedulablePodIsRetriedWhenANodeFrees(t *testing.T) {
	ns := namespace(t)
	create(t, makePod(ns, "hog").cpu("1500m").onNode("small-1").obj())
	waitBound(t, cluster.Client, ns, "hog")
	create(t, makePod(ns, "p").cpu("1").onNode("small-1").obj())
	waitUnschedulable(t, ns, "p")
	if err := cluster.Client.CoreV1().Pods(ns).Delete(context.Background(), "hog", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if node := waitBound(t, cluster.Client, ns, "p"); node != "small-1" {
		t.Fatalf("bound to %s", node)
	}
}

// A scheduler on informers shared with the controller manager sees every pod, finished ones
// too (the controller manager needs them); a pod that finished must not hold its node's room.
func TestSharedInformersLeaveFinishedPodsOut(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	shared := informer.NewShared(ctx, cluster.Client)
	t.Cleanup(func() { cancel(); wg.Wait(); shared.Shutdown() })
	if _, err := startScheduler(ctx, &wg, scheduler.Config{Informers: shared.View(), Profiles: []framework.Profile{plugins.DefaultProfile("shared")}}); err != nil {
		t.Fatal(err)
	}
	ns := namespace(t)
	job := makePod(ns, "job").schedulerName("shared").cpu("1500m").onNode("small-2").obj()
	job.Spec.RestartPolicy = corev1.RestartPolicyNever // the simulated node finishes it at once
	create(t, job)
	waitBound(t, cluster.Client, ns, "job")
	eventually(t, 10*time.Second, "job finished", func() (bool, string) {
		p, err := cluster.Client.CoreV1().Pods(ns).Get(ctx, "job", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodSucceeded, fmt.Sprint(p.Status.Phase, err)
	})
	create(t, makePod(ns, "next").schedulerName("shared").cpu("1").onNode("small-2").obj())
	if node := waitBound(t, cluster.Client, ns, "next"); node != "small-2" {
		t.Fatalf("bound to %s", node)
	}
}
