package scheduler

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/klog/v2"

	"github.com/klite/klite/internal/apiserver/apiservertest"
	"github.com/klite/klite/internal/sim"
)

var cluster *apiservertest.Cluster

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	klog.SetSlogLogger(quiet())
	var err error
	if cluster, err = apiservertest.Start("", apiservertest.Options{}); err != nil {
		return 0, err
	}
	defer os.RemoveAll(cluster.DataDir)
	defer cluster.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := sim.New(sim.Config{Client: cluster.Client, Nodes: 3, NamePrefix: "n", CPU: resource.MustParse("4"), Logger: quiet()})
	if err != nil {
		cancel()
		return 0, err
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.Start(ctx) })
	defer wg.Wait()
	defer cancel()
	<-s.Ready()
	return m.Run(), nil
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// instance is one running `klite scheduler`.
type instance struct {
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, o Options) *instance {
	t.Helper()
	o.Logger = quiet()
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{cancel: cancel, done: make(chan error, 1)}
	go func() { in.done <- Run(ctx, cluster.Config, o) }()
	t.Cleanup(in.stop)
	return in
}

func (in *instance) stop() {
	in.cancel()
	<-in.done
	in.done <- nil // later stops return at once
}

func fastElection(name, id string) Options {
	o := *NewOptions()
	o.Address, o.ResourceName, o.Identity = "", name, id
	o.LeaseDuration, o.RenewDeadline, o.RetryPeriod = 2*time.Second, 1500*time.Millisecond, 200*time.Millisecond
	o.PodInitialBackoff = 100 * time.Millisecond
	return o
}

func namespace(t *testing.T) string {
	t.Helper()
	ns, err := cluster.Client.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "app-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

func createPod(t *testing.T, ns, name, schedulerName, cpu string) {
	t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{SchedulerName: schedulerName, Containers: []corev1.Container{{Name: "c", Image: "busybox",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}}}},
	}
	if _, err := cluster.Client.CoreV1().Pods(ns).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// boundWithin reports how long the pod took to be bound, failing after limit.
func boundWithin(t *testing.T, ns, name string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < limit {
		p, err := cluster.Client.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil && p.Spec.NodeName != "" {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("pod %s/%s not bound within %v", ns, name, limit)
	return 0
}

func holder(t *testing.T, name string) string {
	l, err := cluster.Client.CoordinationV1().Leases("kube-system").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func waitHolder(t *testing.T, name, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for holder(t, name) != want {
		if time.Now().After(deadline) {
			t.Fatalf("lease %s held by %q, want %q", name, holder(t, name), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestStandbyTakesOverWhenLeaderDies(t *testing.T) {
	ns := namespace(t)
	a := fastElection("sched-ha", "a")
	a.keepLeaseOnExit = true // die without releasing, as a killed process
	leader := start(t, a)
	waitHolder(t, "sched-ha", "a")
	start(t, fastElection("sched-ha", "b"))
	createPod(t, ns, "before", "default-scheduler", "100m")
	boundWithin(t, ns, "before", 10*time.Second)
	if got := holder(t, "sched-ha"); got != "a" {
		t.Fatalf("standby took the lease from a live leader: holder %q", got)
	}

	killed := time.Now()
	leader.stop()
	createPod(t, ns, "after", "default-scheduler", "100m")
	boundWithin(t, ns, "after", 15*time.Second)
	took := time.Since(killed)
	waitHolder(t, "sched-ha", "b")
	lease := a.LeaseDuration
	if limit := lease + 2*a.RetryPeriod + time.Second; took > limit {
		t.Fatalf("standby bound the new pod %v after the leader died, want within the lease duration (%v + retry)", took, lease)
	}
	t.Logf("standby bound a new pod %v after the leader died (lease duration %v)", took, lease)
}

func freeAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestExplainCommand(t *testing.T) {
	ns := namespace(t)
	o := *NewOptions()
	o.LeaderElect, o.Address, o.SchedulerName = false, freeAddress(t), "explained"
	start(t, o)
	createPod(t, ns, "fits", "explained", "100m")
	createPod(t, ns, "huge", "explained", "64")
	boundWithin(t, ns, "fits", 10*time.Second)
	tests := []struct {
		pod  string
		want []string
	}{
		{"fits", []string{"Result:    Scheduled", "NodeResourcesFit=", "TaintToleration="}},
		{"huge", []string{"Result:    Unschedulable", "0/3 nodes are available: 3 Insufficient cpu.", "NodeResourcesFit  Insufficient cpu"}},
	}
	for _, tc := range tests {
		t.Run(tc.pod, func(t *testing.T) {
			var out string
			deadline := time.Now().Add(10 * time.Second)
			for {
				cmd := Command()
				var buf bytes.Buffer
				cmd.SetOut(&buf)
				cmd.SetErr(io.Discard)
				cmd.SetArgs([]string{"explain", ns + "/" + tc.pod, "--address", o.Address})
				err := cmd.Execute()
				out = buf.String()
				if err == nil && containsAll(out, tc.want) || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if !containsAll(out, tc.want) {
				t.Fatalf("explain output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
