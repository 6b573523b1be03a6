package scheduler_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/klite/klite/internal/scheduler"
	"github.com/klite/klite/internal/scheduler/framework"
	"github.com/klite/klite/internal/scheduler/plugins"
)

func (b *podBuilder) onNodes(names ...string) *podBuilder {
	b.affinity().NodeAffinity = &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{
			{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: names},
		}}},
	}}
	return b
}

func getPod(t *testing.T, ns, name string) (*corev1.Pod, error) {
	t.Helper()
	return cluster.Client.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
}

func waitGone(t *testing.T, ns, name string) {
	t.Helper()
	eventually(t, 20*time.Second, "pod "+name+" gone", func() (bool, string) {
		_, err := getPod(t, ns, name)
		return apierrors.IsNotFound(err), "still there"
	})
}

func waitNominated(t *testing.T, ns, name, node string) {
	t.Helper()
	eventually(t, 20*time.Second, "pod "+name+" nominated to "+node, func() (bool, string) {
		p, err := getPod(t, ns, name)
		if err != nil {
			return false, err.Error()
		}
		return p.Status.NominatedNodeName == node, "nominated to " + p.Status.NominatedNodeName
	})
}

// TestNominatedNodeIsHeldForThePreemptor: once preemption frees small-1 for a high-priority
// pod, a lower-priority pod arriving while the preemptor backs off must not take the room. A
// scheduler with a long backoff makes that window certain.
func TestNominatedNodeIsHeldForThePreemptor(t *testing.T) {
	priorityClass(t, "test-low", 10)
	priorityClass(t, "test-high", 1000)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	s, err := scheduler.New(ctx, scheduler.Config{Client: cluster.Client, Logger: quietLogger(),
		Profiles:       []framework.Profile{plugins.DefaultProfile("nominating")},
		InitialBackoff: 4 * time.Second, MaxBackoff: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { _ = s.Start(ctx) })
	ns := namespace(t)

	create(t, makePod(ns, "victim").cpu("1500m").priority("test-low").onNode("small-1").obj())
	waitBound(t, cluster.Client, ns, "victim")
	create(t, makePod(ns, "high").cpu("1").priority("test-high").onNode("small-1").schedulerName("nominating").obj())
	waitNominated(t, ns, "high", "small-1")
	waitGone(t, ns, "victim")

	create(t, makePod(ns, "low").cpu("1500m").priority("test-low").onNode("small-1").schedulerName("nominating").obj())
	msg := waitUnschedulable(t, ns, "low")
	if want := "1 Insufficient cpu"; !strings.Contains(msg, want) {
		t.Errorf("low-priority pod's message %q, want it to contain %q", msg, want)
	}
	if node := waitBound(t, cluster.Client, ns, "high"); node != "small-1" {
		t.Fatalf("preemptor bound to %s, want small-1", node)
	}
	eventually(t, 20*time.Second, "nomination of the bound preemptor cleared", func() (bool, string) {
		p, err := getPod(t, ns, "high")
		return err == nil && p.Status.NominatedNodeName == "", "nominated to " + p.Status.NominatedNodeName
	})
	if p, err := getPod(t, ns, "low"); err != nil || p.Spec.NodeName != "" {
		t.Fatalf("low-priority pod: err %v, bound to %q; want it pending", err, p.Spec.NodeName)
	}
}

// TestPreemptionHonoursPodDisruptionBudgets: of two nodes each holding one low-priority pod,
// the preemptor evicts the pod no budget protects, although upstream's other tie-breakers
// (lowest-priority victim) would prefer the protected one.
func TestPreemptionHonoursPodDisruptionBudgets(t *testing.T) {
	priorityClass(t, "test-low", 10)
	priorityClass(t, "test-mid", 500)
	priorityClass(t, "test-high", 1000)
	ns := namespace(t)
	one := intstr.FromInt32(1)
	_, err := cluster.Client.PolicyV1().PodDisruptionBudgets(ns).Create(context.Background(), &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "guard"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "guarded"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	create(t, makePod(ns, "free").cpu("1500m").priority("test-mid").label("app", "free").onNode("small-1").obj())
	create(t, makePod(ns, "guarded").cpu("1500m").priority("test-low").label("app", "guarded").onNode("small-2").obj())
	waitBound(t, cluster.Client, ns, "free")
	waitBound(t, cluster.Client, ns, "guarded")
	seen := watchConditions(t, ns, "free")

	create(t, makePod(ns, "preemptor").cpu("1").priority("test-high").onNodes("small-1", "small-2").obj())
	if node := waitBound(t, cluster.Client, ns, "preemptor"); node != "small-1" {
		t.Fatalf("preemptor bound to %s, want small-1 (where no budget is violated)", node)
	}
	waitGone(t, ns, "free")
	if _, err := getPod(t, ns, "guarded"); err != nil {
		t.Fatalf("the pod protected by a budget was evicted: %v", err)
	}
	c := <-seen
	if c == nil || c.Reason != corev1.PodReasonPreemptionByScheduler || c.Message != "default-scheduler: preempting to accommodate a higher priority pod" {
		t.Fatalf("victim's DisruptionTarget condition before deletion: %+v", c)
	}
}

// watchConditions watches pod until it is deleted and sends the DisruptionTarget=True
// condition it carried (nil if none).
func watchConditions(t *testing.T, ns, name string) <-chan *corev1.PodCondition {
	t.Helper()
	w, err := cluster.Client.CoreV1().Pods(ns).Watch(context.Background(), metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan *corev1.PodCondition, 1)
	go func() {
		defer w.Stop()
		var found *corev1.PodCondition
		timeout := time.After(30 * time.Second)
		for {
			select {
			case ev, ok := <-w.ResultChan():
				if !ok || ev.Type == watch.Deleted {
					out <- found
					return
				}
				if p, ok := ev.Object.(*corev1.Pod); ok {
					for _, c := range p.Status.Conditions {
						if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue {
							found = c.DeepCopy()
						}
					}
				}
			case <-timeout:
				out <- found
				return
			}
		}
	}()
	return out
}
