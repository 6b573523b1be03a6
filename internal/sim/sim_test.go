package sim_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/klite/klite/internal/apiserver/apiservertest"
	"github.com/klite/klite/internal/sim"
)

var cluster *apiservertest.Cluster

func TestMain(m *testing.M) {
	var err error
	if cluster, err = apiservertest.Start("", apiservertest.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	cluster.Stop()
	os.RemoveAll(cluster.DataDir)
	os.Exit(code)
}

// startSim runs a simulator until the test ends and waits for it to be ready.
func startSim(t *testing.T, cfg sim.Config) *sim.Sim {
	t.Helper()
	cfg.Client = cluster.Client
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.Start(ctx); err != nil && ctx.Err() == nil {
			t.Errorf("sim: %v", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	select {
	case <-s.Ready():
	case <-time.After(60 * time.Second):
		t.Fatal("simulator not ready")
	}
	return s
}

func namespace(t *testing.T, c kubernetes.Interface) string {
	t.Helper()
	ns, err := c.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "sim-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

func eventually(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, err := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (last error: %v)", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestNodesRegisterReadyWithCapacityLabelsTaintsAndLease(t *testing.T) {
	taints, err := sim.ParseTaints([]string{"dedicated=sim:NoSchedule"})
	if err != nil {
		t.Fatal(err)
	}
	s := startSim(t, sim.Config{
		Nodes: 3, NamePrefix: "reg", CPU: resource.MustParse("4"), Memory: resource.MustParse("8Gi"), Pods: 20,
		Labels: map[string]string{"zone": "a"}, Taints: taints,
	})
	ctx := context.Background()
	for _, name := range s.NodeNames() {
		n, err := cluster.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := n.Status.Allocatable.Cpu().String(); got != "4" {
			t.Errorf("%s allocatable cpu = %s, want 4", name, got)
		}
		if got := n.Status.Allocatable.Pods().Value(); got != 20 {
			t.Errorf("%s allocatable pods = %d, want 20", name, got)
		}
		if n.Labels["zone"] != "a" || n.Labels[corev1.LabelHostname] != name {
			t.Errorf("%s labels = %v", name, n.Labels)
		}
		if len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Effect != corev1.TaintEffectNoSchedule {
			t.Errorf("%s taints = %v", name, n.Spec.Taints)
		}
		if !nodeReady(n) {
			t.Errorf("%s is not Ready: %v", name, n.Status.Conditions)
		}
		l, err := cluster.Client.CoordinationV1().Leases(sim.LeaseNamespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("lease of %s: %v", name, err)
		}
		if l.Spec.RenewTime == nil || time.Since(l.Spec.RenewTime.Time) > time.Minute {
			t.Errorf("lease of %s renew time %v", name, l.Spec.RenewTime)
		}
	}
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func pod(ns, name, node string, restart corev1.RestartPolicy) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{
			NodeName: node, RestartPolicy: restart,
			Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
		},
	}
}

func TestPodLifecycle(t *testing.T) {
	s := startSim(t, sim.Config{Nodes: 2, NamePrefix: "life", PodCIDRStart: netip.MustParseAddr("10.99.0.0"), JobDuration: 300 * time.Millisecond})
	ctx := context.Background()
	ns := namespace(t, cluster.Client)
	pods := cluster.Client.CoreV1().Pods(ns)
	node1 := s.NodeNames()[1]
	tests := []struct {
		name      string
		restart   corev1.RestartPolicy
		wantPhase corev1.PodPhase
		wantReady bool
	}{
		{"service pod runs and is ready", corev1.RestartPolicyAlways, corev1.PodRunning, true},
		{"job pod succeeds", corev1.RestartPolicyNever, corev1.PodSucceeded, false},
		{"onfailure pod succeeds", corev1.RestartPolicyOnFailure, corev1.PodSucceeded, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("p%d", i)
			if _, err := pods.Create(ctx, pod(ns, name, node1, tc.restart), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			var got *corev1.Pod
			eventually(t, "phase "+string(tc.wantPhase), func() (bool, error) {
				var err error
				got, err = pods.Get(ctx, name, metav1.GetOptions{})
				return err == nil && got.Status.Phase == tc.wantPhase, err
			})
			ip, err := netip.ParseAddr(got.Status.PodIP)
			if err != nil || !netip.MustParsePrefix("10.99.1.0/24").Contains(ip) {
				t.Errorf("pod IP %q not in node %s's range 10.99.1.0/24", got.Status.PodIP, node1)
			}
			if ready := podReady(got); ready != tc.wantReady {
				t.Errorf("Ready = %v, want %v", ready, tc.wantReady)
			}
		})
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func TestGracefulDeletionIsConfirmed(t *testing.T) {
	s := startSim(t, sim.Config{Nodes: 1, NamePrefix: "del"})
	ctx := context.Background()
	ns := namespace(t, cluster.Client)
	pods := cluster.Client.CoreV1().Pods(ns)
	if _, err := pods.Create(ctx, pod(ns, "p", s.NodeNames()[0], corev1.RestartPolicyAlways), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "running", func() (bool, error) {
		p, err := pods.Get(ctx, "p", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, err
	})
	if err := pods.Delete(ctx, "p", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](300)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "pod gone", func() (bool, error) {
		_, err := pods.Get(ctx, "p", metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
}

func TestLeasesStopWhenSimExits(t *testing.T) {
	cfg := sim.Config{Client: cluster.Client, Nodes: 2, NamePrefix: "stop", RenewInterval: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	<-s.Ready()
	leases := cluster.Client.CoordinationV1().Leases(sim.LeaseNamespace)
	renewTime := func() time.Time {
		l, err := leases.Get(context.Background(), "stop-1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return l.Spec.RenewTime.Time
	}
	first := renewTime()
	eventually(t, "lease renewed", func() (bool, error) { return renewTime().After(first), nil })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	stopped := renewTime()
	time.Sleep(400 * time.Millisecond)
	if got := renewTime(); !got.Equal(stopped) {
		t.Errorf("lease renewed after exit: %v then %v", stopped, got)
	}
}

func TestThousandNodes(t *testing.T) {
	nodes := 1000
	if raceEnabled {
		nodes = 200 // same code path; the race detector makes 1,000 registrations take minutes
	}
	start := time.Now()
	s := startSim(t, sim.Config{Nodes: nodes, NamePrefix: "big", Workers: 32})
	t.Logf("registered %d nodes in %v", nodes, time.Since(start))
	list, err := cluster.Client.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{LabelSelector: "klite.io/sim=true"})
	if err != nil {
		t.Fatal(err)
	}
	ready := 0
	for i := range list.Items {
		if nodeReady(&list.Items[i]) && len(list.Items[i].Name) > 4 && list.Items[i].Name[:4] == "big-" {
			ready++
		}
	}
	if ready != len(s.NodeNames()) {
		t.Errorf("%d of %d nodes Ready", ready, len(s.NodeNames()))
	}
	leases, err := cluster.Client.CoordinationV1().Leases(sim.LeaseNamespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(leases.Items) < nodes {
		t.Errorf("%d leases, want at least %d", len(leases.Items), nodes)
	}
}

// TestPodReadyAgainAfterNotReady: the node lifecycle controller marks the pods of an unreachable
// node not ready; once the node is back, its (simulated) kubelet reports them ready again,
// keeping their IP.
func TestPodReadyAgainAfterNotReady(t *testing.T) {
	s := startSim(t, sim.Config{Nodes: 1, NamePrefix: "again", PodCIDRStart: netip.MustParseAddr("10.98.0.0")})
	ctx := context.Background()
	ns := namespace(t, cluster.Client)
	pods := cluster.Client.CoreV1().Pods(ns)
	if _, err := pods.Create(ctx, pod(ns, "svc", s.NodeNames()[0], corev1.RestartPolicyAlways), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var running *corev1.Pod
	eventually(t, "running and ready", func() (bool, error) {
		var err error
		running, err = pods.Get(ctx, "svc", metav1.GetOptions{})
		return err == nil && running.Status.Phase == corev1.PodRunning && podReady(running), err
	})
	notReady := running.DeepCopy()
	for i := range notReady.Status.Conditions {
		if c := &notReady.Status.Conditions[i]; c.Type == corev1.PodReady || c.Type == corev1.ContainersReady {
			c.Status = corev1.ConditionFalse
		}
	}
	if _, err := pods.UpdateStatus(ctx, notReady, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ready again", func() (bool, error) {
		got, err := pods.Get(ctx, "svc", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if podReady(got) && got.Status.PodIP != running.Status.PodIP {
			t.Fatalf("pod IP changed from %s to %s", running.Status.PodIP, got.Status.PodIP)
		}
		return podReady(got), nil
	})
}
