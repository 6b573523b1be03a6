package scheduler_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/klite/klite/internal/apiserver/apiservertest"
	"github.com/klite/klite/internal/scheduler"
	"github.com/klite/klite/internal/sim"
)

// The shared test cluster has 7 simulated nodes:
//
//	small-0..2  cpu 2,  memory 4Gi,  zone=a disk=ssd cores=2
//	big-0..1    cpu 16, memory 64Gi, zone=b cores=16
//	tainted-0   cpu 8,  memory 16Gi, zone=c gpu=true, taint dedicated=gpu:NoSchedule
//	cordoned-0  cpu 8,  memory 16Gi, zone=c, spec.unschedulable
//
// and a default scheduler.
var (
	cluster *apiservertest.Cluster
	sched   *scheduler.Scheduler
)

const numNodes = 7

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	var err error
	if cluster, err = apiservertest.Start("", apiservertest.Options{}); err != nil {
		return 0, err
	}
	defer os.RemoveAll(cluster.DataDir)
	defer cluster.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	taints, _ := sim.ParseTaints([]string{"dedicated=gpu:NoSchedule"})
	for _, c := range []sim.Config{
		{Nodes: 3, NamePrefix: "small", CPU: resource.MustParse("2"), Memory: resource.MustParse("4Gi"), Labels: map[string]string{"zone": "a", "disk": "ssd", "cores": "2"}},
		{Nodes: 2, NamePrefix: "big", CPU: resource.MustParse("16"), Memory: resource.MustParse("64Gi"), Labels: map[string]string{"zone": "b", "cores": "16"}},
		{Nodes: 1, NamePrefix: "tainted", CPU: resource.MustParse("8"), Memory: resource.MustParse("16Gi"), Labels: map[string]string{"zone": "c", "gpu": "true"}, Taints: taints},
		{Nodes: 1, NamePrefix: "cordoned", CPU: resource.MustParse("8"), Memory: resource.MustParse("16Gi"), Labels: map[string]string{"zone": "c"}},
	} {
		c.Client, c.Logger, c.JobDuration = cluster.Client, quietLogger(), 200*time.Millisecond
		s, err := sim.New(c)
		if err != nil {
			return 0, err
		}
		wg.Go(func() { _ = s.Start(ctx) })
		select {
		case <-s.Ready():
		case <-time.After(60 * time.Second):
			return 0, fmt.Errorf("sim %s not ready", c.NamePrefix)
		}
	}
	patch := []byte(`{"spec":{"unschedulable":true}}`)
	if _, err := cluster.Client.CoreV1().Nodes().Patch(ctx, "cordoned-0", "application/merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
		return 0, err
	}
	// Events go through a client of their own (its user agent names their manager).
	events := rest.CopyConfig(cluster.Config)
	events.UserAgent = eventsAgent
	eventClient, err := kubernetes.NewForConfig(events)
	if err != nil {
		return 0, err
	}
	if sched, err = startScheduler(ctx, &wg, scheduler.Config{EventClient: eventClient}); err != nil {
		return 0, err
	}
	return m.Run(), nil
}

// eventsAgent is the user agent of the package scheduler's event client.
const eventsAgent = "scheduler-events"

func startScheduler(ctx context.Context, wg *sync.WaitGroup, cfg scheduler.Config) (*scheduler.Scheduler, error) {
	cfg.Client, cfg.Logger = cluster.Client, quietLogger()
	cfg.InitialBackoff, cfg.MaxBackoff = 100*time.Millisecond, time.Second
	s, err := scheduler.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	wg.Go(func() { _ = s.Start(ctx) })
	return s, nil
}

func namespace(t *testing.T) string {
	t.Helper()
	ns, err := cluster.Client.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "sched-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deletePods(t, ns.Name) })
	return ns.Name
}

// deletePods frees what a test placed, waiting until the pods are gone.
func deletePods(t *testing.T, ns string) {
	pods := cluster.Client.CoreV1().Pods(ns)
	zero := int64(0)
	if err := pods.DeleteCollection(context.Background(), metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{}); err != nil {
		t.Errorf("delete pods: %v", err)
		return
	}
	eventually(t, 20*time.Second, "pods of "+ns+" gone", func() (bool, string) {
		list, err := pods.List(context.Background(), metav1.ListOptions{})
		return err == nil && len(list.Items) == 0, fmt.Sprint(err)
	})
	time.Sleep(100 * time.Millisecond) // let the scheduler's informer catch up
}

func create(t *testing.T, p *corev1.Pod) *corev1.Pod {
	t.Helper()
	out, err := cluster.Client.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s: %v", p.Name, err)
	}
	return out
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last seen: %s", what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitBound waits until the pod is bound and returns its node.
func waitBound(t *testing.T, c kubernetes.Interface, ns, name string) string {
	t.Helper()
	var node string
	eventually(t, 20*time.Second, "pod "+name+" bound", func() (bool, string) {
		p, err := c.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		node = p.Spec.NodeName
		return node != "", fmt.Sprintf("%v", p.Status.Conditions)
	})
	return node
}

// waitUnschedulable waits for PodScheduled=False/Unschedulable and returns its message.
func waitUnschedulable(t *testing.T, ns, name string) string {
	t.Helper()
	var msg string
	eventually(t, 20*time.Second, "pod "+name+" unschedulable", func() (bool, string) {
		p, err := cluster.Client.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		if p.Spec.NodeName != "" {
			t.Fatalf("pod %s was bound to %s, want it to stay pending", name, p.Spec.NodeName)
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == scheduler.ReasonUnschedulable {
				msg = c.Message
				return true, msg
			}
		}
		return false, fmt.Sprintf("%v", p.Status.Conditions)
	})
	return msg
}

// eventsFor lists events.k8s.io events about a pod.
func eventsFor(t *testing.T, ns, name, reason string) []eventsv1.Event {
	t.Helper()
	list, err := cluster.Client.EventsV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

func hasPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
