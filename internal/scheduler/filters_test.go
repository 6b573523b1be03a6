package scheduler_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// unfit is upstream's message for a pod that neither tolerates the taint nor the cordon and
// fails `rest` on the other five nodes.
func unfit(rest ...string) string {
	return "0/7 nodes are available: " + strings.Join(append([]string{"1 node(s) had untolerated taint(s)", "1 node(s) were unschedulable"}, rest...), ", ") + "."
}

type filterCase struct {
	name  string
	setup []func(ns string) *corev1.Pod // bound first, in order
	pod   func(ns string) *corev1.Pod
	// wantNodes are allowed node name prefixes; empty means the pod must stay pending with wantMsg.
	wantNodes []string
	wantMsg   string
	// wantPreempt is what preemption found on each node (upstream appends it to the message).
	wantPreempt string
}

const (
	notHelpful = "Preemption is not helpful for scheduling"
	noVictims  = "No preemption victims found for incoming pod"
)

func (tc *filterCase) message() string {
	return tc.wantMsg + " preemption: 0/7 nodes are available: " + tc.wantPreempt + "."
}

func TestFilters(t *testing.T) {
	antiDB := podTerm("app", "db", "zone")
	tests := []filterCase{
		{name: "NodeResourcesFit places a big request on a big node",
			pod: func(ns string) *corev1.Pod { return makePod(ns, "p").cpu("10").obj() }, wantNodes: []string{"big-"}},
		{name: "NodeResourcesFit keeps an oversized pod pending",
			pod:     func(ns string) *corev1.Pod { return makePod(ns, "p").cpu("100").obj() },
			wantMsg: unfit("5 Insufficient cpu"), wantPreempt: "7 " + notHelpful},
		{name: "NodeResourcesFit counts pods already placed",
			setup:   []func(string) *corev1.Pod{func(ns string) *corev1.Pod { return makePod(ns, "a").cpu("1500m").onNode("small-2").obj() }},
			pod:     func(ns string) *corev1.Pod { return makePod(ns, "p").cpu("1").onNode("small-2").obj() },
			wantMsg: "0/7 nodes are available: 1 Insufficient cpu, 6 node(s) didn't satisfy plugin(s) [NodeAffinity].", wantPreempt: "1 " + noVictims + ", 6 " + notHelpful},
		{name: "NodeAffinity nodeSelector",
			pod: func(ns string) *corev1.Pod { return makePod(ns, "p").selector("disk", "ssd").obj() }, wantNodes: []string{"small-"}},
		{name: "NodeAffinity Gt",
			pod: func(ns string) *corev1.Pod {
				return makePod(ns, "p").nodeAffinity(req("cores", corev1.NodeSelectorOpGt, "8")).obj()
			},
			wantNodes: []string{"big-"}},
		{name: "NodeAffinity NotIn leaves only tainted and cordoned nodes",
			pod: func(ns string) *corev1.Pod {
				return makePod(ns, "p").nodeAffinity(req("zone", corev1.NodeSelectorOpNotIn, "a", "b")).obj()
			},
			wantMsg: unfit("5 node(s) didn't match Pod's node affinity/selector"), wantPreempt: "7 " + notHelpful},
		{name: "NodeAffinity DoesNotExist",
			pod: func(ns string) *corev1.Pod {
				return makePod(ns, "p").nodeAffinity(req("disk", corev1.NodeSelectorOpDoesNotExist)).obj()
			},
			wantNodes: []string{"big-"}},
		{name: "NodeUnschedulable admits a pod tolerating the cordon",
			pod: func(ns string) *corev1.Pod {
				return makePod(ns, "p").selector("zone", "c").tolerate(corev1.TaintNodeUnschedulable, "", corev1.TaintEffectNoSchedule).obj()
			}, wantNodes: []string{"cordoned-0"}},
		{name: "TaintToleration admits a tolerating pod",
			pod: func(ns string) *corev1.Pod {
				return makePod(ns, "p").selector("gpu", "true").tolerate("dedicated", "gpu", corev1.TaintEffectNoSchedule).obj()
			}, wantNodes: []string{"tainted-0"}},
		{name: "TaintToleration rejects an intolerant pod",
			pod:     func(ns string) *corev1.Pod { return makePod(ns, "p").selector("gpu", "true").obj() },
			wantMsg: unfit("5 node(s) didn't match Pod's node affinity/selector"), wantPreempt: "7 " + notHelpful},
		{name: "NodePorts free port",
			pod: func(ns string) *corev1.Pod { return makePod(ns, "p").hostPort(8081).onNode("small-0").obj() }, wantNodes: []string{"small-0"}},
		{name: "NodePorts conflict",
			setup:   []func(string) *corev1.Pod{func(ns string) *corev1.Pod { return makePod(ns, "a").hostPort(8080).onNode("small-0").obj() }},
			pod:     func(ns string) *corev1.Pod { return makePod(ns, "p").hostPort(8080).onNode("small-0").obj() },
			wantMsg: "0/7 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, 6 node(s) didn't satisfy plugin(s) [NodeAffinity].", wantPreempt: "1 " + noVictims + ", 6 " + notHelpful},
		{name: "InterPodAffinity follows a pod into its zone",
			setup:     []func(string) *corev1.Pod{func(ns string) *corev1.Pod { return makePod(ns, "a").label("app", "web").selector("zone", "b").obj() }},
			pod:       func(ns string) *corev1.Pod { return makePod(ns, "p").podAffinity(podTerm("app", "web", "zone")).obj() },
			wantNodes: []string{"big-"}},
		{name: "InterPodAffinity with no matching pod",
			pod: func(ns string) *corev1.Pod {
				return makePod(ns, "p").podAffinity(podTerm("app", "missing", "zone")).obj()
			},
			wantMsg: unfit("5 node(s) didn't match pod affinity rules"), wantPreempt: "7 " + notHelpful},
		{name: "InterPodAffinity anti-affinity avoids the zone",
			setup:     []func(string) *corev1.Pod{func(ns string) *corev1.Pod { return makePod(ns, "a").label("app", "db").selector("zone", "a").obj() }},
			pod:       func(ns string) *corev1.Pod { return makePod(ns, "p").podAntiAffinity(antiDB).obj() },
			wantNodes: []string{"big-"}},
		{name: "InterPodAffinity anti-affinity rejects the zone",
			setup: []func(string) *corev1.Pod{func(ns string) *corev1.Pod { return makePod(ns, "a").label("app", "db").selector("zone", "a").obj() }},
			pod: func(ns string) *corev1.Pod {
				return makePod(ns, "p").podAntiAffinity(antiDB).selector("zone", "a").obj()
			},
			wantMsg: unfit("2 node(s) didn't match Pod's node affinity/selector", "3 node(s) didn't match pod anti-affinity rules"), wantPreempt: "3 " + noVictims + ", 4 " + notHelpful},
		{name: "InterPodAffinity existing pod's anti-affinity",
			setup: []func(string) *corev1.Pod{func(ns string) *corev1.Pod {
				return makePod(ns, "a").podAntiAffinity(podTerm("app", "intruder", "zone")).selector("zone", "b").obj()
			}},
			pod: func(ns string) *corev1.Pod {
				return makePod(ns, "p").label("app", "intruder").selector("zone", "b").obj()
			},
			wantMsg: unfit("2 node(s) didn't satisfy existing pods anti-affinity rules", "3 node(s) didn't match Pod's node affinity/selector"), wantPreempt: "2 " + noVictims + ", 5 " + notHelpful},
		{name: "PodTopologySpread balances zones",
			setup: []func(string) *corev1.Pod{func(ns string) *corev1.Pod { return makePod(ns, "a").label("app", "s").selector("zone", "a").obj() }},
			pod: func(ns string) *corev1.Pod {
				return makePod(ns, "p").label("app", "s").nodeAffinity(req("zone", corev1.NodeSelectorOpIn, "a", "b")).
					spread(1, "zone", corev1.DoNotSchedule, "app", "s").obj()
			}, wantNodes: []string{"big-"}},
		{name: "PodTopologySpread missing topology label",
			pod: func(ns string) *corev1.Pod {
				return makePod(ns, "p").spread(1, "rack", corev1.DoNotSchedule, "app", "s").obj()
			},
			wantMsg: unfit("5 node(s) didn't match pod topology spread constraints (missing required label)"), wantPreempt: "7 " + notHelpful},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runFilterCase(t, tc)
		})
	}
}

func runFilterCase(t *testing.T, tc filterCase) {
	ns := namespace(t)
	for _, setup := range tc.setup {
		p := create(t, setup(ns))
		waitBound(t, cluster.Client, ns, p.Name)
	}
	p := create(t, tc.pod(ns))
	if len(tc.wantNodes) > 0 {
		node := waitBound(t, cluster.Client, ns, p.Name)
		if !hasPrefix(node, tc.wantNodes...) {
			t.Fatalf("pod bound to %s, want one of %v", node, tc.wantNodes)
		}
		eventually(t, 10e9, "Scheduled event", func() (bool, string) {
			evs := eventsFor(t, ns, p.Name, "Scheduled")
			want := "Successfully assigned " + ns + "/p to " + node
			return len(evs) > 0 && evs[0].Note == want, want
		})
		return
	}
	want := tc.message()
	if got := waitUnschedulable(t, ns, p.Name); got != want {
		t.Fatalf("PodScheduled message:\n got %q\nwant %q", got, want)
	}
	eventually(t, 10e9, "FailedScheduling event", func() (bool, string) {
		evs := eventsFor(t, ns, p.Name, "FailedScheduling")
		return len(evs) > 0 && evs[0].Note == want && evs[0].Type == corev1.EventTypeWarning, ""
	})
}

func TestPodWithNodeNameIsNeverTouched(t *testing.T) {
	ns := namespace(t)
	p := makePod(ns, "p").obj()
	p.Spec.NodeName = "no-such-node"
	create(t, p)
	got, err := cluster.Client.CoreV1().Pods(ns).Get(context.Background(), "p", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.NodeName != "no-such-node" || len(eventsFor(t, ns, "p", "FailedScheduling")) != 0 {
		t.Fatalf("scheduler touched a pod with nodeName: %v", got.Spec.NodeName)
	}
}
