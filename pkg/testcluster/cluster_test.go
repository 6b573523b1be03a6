package testcluster_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/klite/klite/pkg/testcluster"
)

// A Deployment's pods are scheduled onto the simulated nodes and all become Ready.
func TestDeploymentBecomesReady(t *testing.T) {
	t.Parallel()
	c := testcluster.Start(t, testcluster.Quiet())
	ctx := context.Background()
	createDeployment(t, c.Client(), "default", "web", 5)
	eventually(t, 30*time.Second, func() (bool, string) {
		d, err := c.Client().AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return d.Status.ReadyReplicas == 5 && d.Status.AvailableReplicas == 5, fmt.Sprintf("status %+v", d.Status)
	})
	pods, err := c.Client().CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 5 {
		t.Fatalf("%d pods, want 5", len(pods.Items))
	}
	for _, p := range pods.Items {
		if !slices.Contains(c.Nodes(), p.Spec.NodeName) || p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
			t.Errorf("pod %s: node %q phase %s ip %q; want Running with an IP on one of %v", p.Name, p.Spec.NodeName, p.Status.Phase, p.Status.PodIP, c.Nodes())
		}
	}
}

// A Job's pods run to completion on the simulated nodes and the Job gets Complete.
func TestJobCompletes(t *testing.T) {
	t.Parallel()
	c := testcluster.Start(t, testcluster.Quiet(), testcluster.WithJobDuration(200*time.Millisecond))
	ctx := context.Background()
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi"},
		Spec: batchv1.JobSpec{
			Completions: ptr.To[int32](3), Parallelism: ptr.To[int32](2),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "pi", Image: "perl"}},
			}},
		},
	}
	if _, err := c.Client().BatchV1().Jobs("default").Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() (bool, string) {
		j, err := c.Client().BatchV1().Jobs("default").Get(ctx, "pi", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, cond := range j.Status.Conditions {
			if cond.Type == batchv1.JobComplete && cond.Status == corev1.ConditionTrue {
				return j.Status.Succeeded == 3, fmt.Sprintf("complete with %d succeeded", j.Status.Succeeded)
			}
		}
		return false, fmt.Sprintf("status %+v", j.Status)
	})
}

// When a pool's simulated kubelet stops, its node goes NotReady; the other nodes stay Ready.
func TestStoppedPoolGoesNotReady(t *testing.T) {
	t.Parallel()
	c := testcluster.Start(t, testcluster.Quiet(), testcluster.WithNodes(1),
		testcluster.WithNodeMonitorGracePeriod(2*time.Second),
		testcluster.WithNodePool(testcluster.NodePool{Name: "doomed", Nodes: 1, Labels: map[string]string{"pool": "doomed"}}))
	if want := []string{"node-0", "doomed-0"}; !slices.Equal(c.Nodes(), want) {
		t.Fatalf("Nodes() = %v, want %v", c.Nodes(), want)
	}
	ctx := context.Background()
	if err := c.StopPool(ctx, "doomed"); err != nil {
		t.Fatal(err)
	}
	if err := c.StopPool(ctx, "nope"); err == nil {
		t.Error("StopPool of an unknown pool succeeded")
	}
	eventually(t, 20*time.Second, func() (bool, string) {
		st := readiness(t, c.Client())
		return st["doomed-0"] == corev1.ConditionUnknown, fmt.Sprintf("readiness %v", st)
	})
	if st := readiness(t, c.Client()); st["node-0"] != corev1.ConditionTrue {
		t.Errorf("node-0 readiness %s after the other pool stopped, want True", st["node-0"])
	}
}

// Two clusters in one process are separate: objects in one never appear in the other, and each
// has its own nodes.
func TestTwoClustersAreSeparate(t *testing.T) {
	t.Parallel()
	a := testcluster.Start(t, testcluster.Quiet(), testcluster.WithNodes(2))
	b := testcluster.Start(t, testcluster.Quiet(), testcluster.WithNodes(1), testcluster.WithNodeLabels(map[string]string{"cluster": "b"}))
	if a.Config().Host == b.Config().Host {
		t.Fatalf("both clusters serve at %s", a.Config().Host)
	}
	ctx := context.Background()
	createDeployment(t, a.Client(), "default", "only-in-a", 2)
	eventually(t, 30*time.Second, func() (bool, string) {
		d, err := a.Client().AppsV1().Deployments("default").Get(ctx, "only-in-a", metav1.GetOptions{})
		return err == nil && d.Status.ReadyReplicas == 2, fmt.Sprintf("%v", err)
	})
	if _, err := b.Client().AppsV1().Deployments("default").Get(ctx, "only-in-a", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("cluster b sees a's Deployment: err = %v", err)
	}
	if pods, err := b.Client().CoreV1().Pods("").List(ctx, metav1.ListOptions{}); err != nil || len(pods.Items) != 0 {
		t.Errorf("cluster b has %d pods (err %v), want none", len(pods.Items), err)
	}
	nodes, err := b.Client().CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) != 1 || nodes.Items[0].Labels["cluster"] != "b" {
		t.Errorf("cluster b nodes = %v (err %v), want one labelled cluster=b", nodes.Items, err)
	}
}

// Bad options fail Start with an error instead of a half-started cluster.
func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    []testcluster.Option
		wantErr string
	}{
		{"bad cpu", []testcluster.Option{testcluster.WithNodeResources("lots", "1Gi", 10)}, `"lots"`},
		{"negative nodes", []testcluster.Option{testcluster.WithNodes(-1)}, "-1 nodes"},
		{"unknown controller", []testcluster.Option{testcluster.WithControllers("nope")}, "unknown controller"},
		{"duplicate pool", []testcluster.Option{testcluster.WithNodePool(testcluster.NodePool{Name: testcluster.DefaultPool, Nodes: 1})}, "given twice"},
		{"no grace period", []testcluster.Option{testcluster.WithNodeMonitorGracePeriod(0)}, "grace period"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := testcluster.New(ctx, t.TempDir(), append(tc.opts, testcluster.Quiet())...)
			if err == nil {
				_ = c.Stop(ctx)
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New: %v, want an error mentioning %q", err, tc.wantErr)
			}
		})
	}
}

// Stop ends every goroutine the cluster started: etcd, the API server, the scheduler, the
// controller manager and the simulated nodes (connections client-go pools are ignored).
// Not parallel: it counts the process's goroutines.
func TestStopLeavesNoGoroutines(t *testing.T) {
	before := goleak.IgnoreCurrent()
	start := time.Now()
	ctx := context.Background()
	c, err := testcluster.New(ctx, t.TempDir(), testcluster.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster with 3 nodes usable after %s", time.Since(start).Round(time.Millisecond))
	createDeployment(t, c.Client(), "default", "leak", 3)
	eventually(t, 30*time.Second, func() (bool, string) {
		d, err := c.Client().AppsV1().Deployments("default").Get(ctx, "leak", metav1.GetOptions{})
		return err == nil && d.Status.ReadyReplicas == 3, fmt.Sprintf("%v", err)
	})
	stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := c.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, append(leakOptions, before)...)
}

// leakOptions ignore HTTP connections client-go keeps pooled across clusters (its transports
// are cached process-wide) while they notice the server has gone.
var leakOptions = []goleak.Option{
	goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
	goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	goleak.IgnoreAnyFunction("net/http.(*http2ClientConn).readLoop"),
	goleak.IgnoreAnyFunction("golang.org/x/net/http2.(*clientConnReadLoop).run"),
}

func createDeployment(t *testing.T, client kubernetes.Interface, ns, name string, replicas int32) {
	t.Helper()
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}},
			},
		},
	}
	if _, err := client.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// readiness maps each node to the status of its Ready condition.
func readiness(t *testing.T, client kubernetes.Interface) map[string]corev1.ConditionStatus {
	t.Helper()
	nodes, err := client.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]corev1.ConditionStatus{}
	for _, n := range nodes.Items {
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				out[n.Name] = cond.Status
			}
		}
	}
	return out
}

// eventually polls cond every 50ms until it holds, failing t with its last message after timeout.
func eventually(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not after %s: %s", timeout, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
