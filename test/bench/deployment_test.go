package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/klite/klite/pkg/testcluster"
)

// deploymentGoal is the goal: 10,000 pods created in at most 20 s.
const deploymentGoal = 20 * time.Second

// deploymentResult is one Deployment's life on a whole in-process cluster (testcluster): etcd,
// API server, scheduler, controller manager and simulated nodes share this process.
type deploymentResult struct {
	replicas, nodes int
	created         time.Duration // Deployment create → every pod exists
	ready           time.Duration // Deployment create → every pod Ready
	available       time.Duration // Deployment create → status.availableReplicas == replicas
	rollout         time.Duration // image change → rollout complete (as `kubectl rollout status`)
	deleted         time.Duration // Deployment delete → no pod left
	directRate      float64       // baseline: pods/s a client creates directly, same config
	rssMB, heapMB   float64       // process VmRSS and Go heap in use once all pods are Ready
	peakRSSMB       float64       // process VmHWM at the end
	idleCores       float64       // CPU the idle cluster (lease renewals, heartbeats) burns, in cores
}

func (r deploymentResult) createdRate() float64 { return rate(r.replicas, r.created) }

func (r deploymentResult) report(b *testing.B) {
	b.ReportMetric(r.created.Seconds(), "created-s")
	b.ReportMetric(r.ready.Seconds(), "ready-s")
	b.ReportMetric(r.available.Seconds(), "available-s")
	b.ReportMetric(r.rollout.Seconds(), "rollout-s")
	b.ReportMetric(r.deleted.Seconds(), "deleted-s")
	b.ReportMetric(r.createdRate(), "controller-pods/s")
	b.ReportMetric(r.directRate, "direct-pods/s")
	b.ReportMetric(r.createdRate()/r.directRate, "ratio")
	// The goal scaled to this size: 10,000 pods in 20s is 500 pods/s.
	b.ReportMetric(r.created.Seconds()/(deploymentGoal.Seconds()*float64(r.replicas)/10000), "created/goal")
	b.ReportMetric(r.rssMB, "process-RSS-MB")
	b.ReportMetric(r.peakRSSMB, "peak-RSS-MB")
	b.ReportMetric(r.heapMB, "heap-MB")
	b.ReportMetric(r.idleCores, "idle-cluster-cores")
}

// podTracker follows the pods of one namespace through an informer: every name ever seen, and
// the live ones with their readiness.
type podTracker struct {
	mu   sync.Mutex
	seen map[string]bool
	live map[string]bool // name → Ready
}

func trackPods(tb testing.TB, client kubernetes.Interface, ns string) *podTracker {
	tb.Helper()
	t := &podTracker{seen: map[string]bool{}, live: map[string]bool{}}
	f := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(ns))
	inf := f.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    t.set,
		UpdateFunc: func(_, o any) { t.set(o) },
		DeleteFunc: t.remove,
	}); err != nil {
		tb.Fatal(err)
	}
	stop := make(chan struct{})
	f.Start(stop)
	f.WaitForCacheSync(stop)
	tb.Cleanup(func() { close(stop); f.Shutdown() })
	return t
}

func (t *podTracker) set(o any) {
	p, ok := o.(*corev1.Pod)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seen[p.Name] = true
	t.live[p.Name] = podReady(p)
}

func (t *podTracker) remove(o any) {
	if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	if p, ok := o.(*corev1.Pod); ok {
		t.mu.Lock()
		delete(t.live, p.Name)
		t.mu.Unlock()
	}
}

// counts returns how many pods were ever seen, are live, and are live and Ready.
func (t *podTracker) counts() (seen, live, ready int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range t.live {
		if r {
			ready++
		}
	}
	return len(t.seen), len(t.live), ready
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// progressFlag prints the benchmark's progress to stderr every 5s, for long runs.
var progressFlag = flag.Bool("deploy.progress", false, "print BenchmarkDeployment's progress to stderr")

// createProfileFlag names a file for a CPU profile of the scale-up only (create → all Ready).
var createProfileFlag = flag.String("deploy.createprofile", "", "write a CPU profile of the Deployment's scale-up to this file")

// waitFor polls cond every 20ms until it holds and returns the time since start, failing tb
// after timeout.
func waitFor(tb testing.TB, start time.Time, timeout time.Duration, what string, cond func() (bool, string)) time.Duration {
	tb.Helper()
	last := time.Now()
	for {
		ok, msg := cond()
		if ok {
			if *progressFlag {
				fmt.Fprintf(os.Stderr, "%s: done after %s\n", what, time.Since(start).Round(time.Millisecond))
			}
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			tb.Fatalf("%s: not after %s: %s", what, timeout, msg)
		}
		if *progressFlag && time.Since(last) > 5*time.Second {
			fmt.Fprintf(os.Stderr, "%s: %s after %s\n", what, msg, time.Since(start).Round(time.Second))
			last = time.Now()
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startCreateProfile starts the scale-up CPU profile if -deploy.createprofile asks for one; the
// returned function stops it.
func startCreateProfile(tb testing.TB) func() {
	tb.Helper()
	if *createProfileFlag == "" {
		return func() {}
	}
	f, err := os.Create(*createProfileFlag)
	if err != nil {
		tb.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		tb.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}

// benchDeployment runs the realistic two-container pod of the other benchmarks.
func benchDeployment(name string, replicas int) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	spec := pod("", "").Spec
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(replicas)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
		},
	}
}

// measureDeployment creates a Deployment of replicas pods on a cluster of nodes simulated
// nodes, waits until all are Ready, rolls it to a new image, deletes it, and finally measures
// the baseline: the same pods created directly by one client (64 at a time, left unscheduled).
func measureDeployment(tb testing.TB, b *testing.B, replicas, nodes int, timeout time.Duration) deploymentResult {
	tb.Helper()
	// A long grace period: on a busy machine a thousand simulated nodes' Lease renewals can lag
	// past the default 40s, and nodes marked NotReady would turn their pods not ready, which
	// measures the machine's load rather than the controllers.
	c := testcluster.Start(tb, testcluster.Quiet(), testcluster.WithNodes(nodes), testcluster.WithNodeMonitorGracePeriod(5*time.Minute))
	client := c.Client()
	ctx := context.Background()
	r := deploymentResult{replicas: replicas, nodes: nodes}
	tracker := trackPods(tb, newClient(tb, c.Config(), true), metav1.NamespaceDefault)
	deployments := client.AppsV1().Deployments(metav1.NamespaceDefault)

	r.idleCores = idleCores(3 * time.Second)
	timed(b, func() {
		stopProfile := startCreateProfile(tb)
		start := time.Now()
		if _, err := deployments.Create(ctx, benchDeployment("bench", replicas), metav1.CreateOptions{}); err != nil {
			tb.Fatal(err)
		}
		r.created = waitFor(tb, start, timeout, "all pods created", func() (bool, string) {
			seen, _, _ := tracker.counts()
			return seen >= replicas, fmt.Sprintf("%d of %d pods created", seen, replicas)
		})
		r.ready = waitFor(tb, start, timeout, "all pods Ready", func() (bool, string) {
			_, live, ready := tracker.counts()
			return ready >= replicas, fmt.Sprintf("%d live, %d of %d Ready", live, ready, replicas)
		})
		stopProfile()
		r.rssMB, r.heapMB = selfStatusMB(tb, "VmRSS"), heapMB()
		r.available = waitFor(tb, start, timeout, "Deployment available", deploymentDone(ctx, deployments, "bench", 1, replicas))

		start = time.Now()
		d, err := deployments.Get(ctx, "bench", metav1.GetOptions{})
		if err != nil {
			tb.Fatal(err)
		}
		d.Spec.Template.Spec.Containers[0].Image += "-v2"
		if _, err := deployments.Update(ctx, d, metav1.UpdateOptions{}); err != nil {
			tb.Fatal(err)
		}
		r.rollout = waitFor(tb, start, timeout, "rollout", deploymentDone(ctx, deployments, "bench", d.Generation+1, replicas))

		start = time.Now()
		if err := deployments.Delete(ctx, "bench", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}); err != nil {
			tb.Fatal(err)
		}
		r.deleted = waitFor(tb, start, timeout, "all pods deleted", func() (bool, string) {
			_, live, _ := tracker.counts()
			return live == 0, fmt.Sprintf("%d pods left", live)
		})
	})
	r.peakRSSMB = selfStatusMB(tb, "VmHWM")
	r.directRate = directPodCreates(tb, c, replicas)
	return r
}

// deploymentDone is `kubectl rollout status`'s test: the controller saw generation gen, and all
// replicas are updated, available, and the only ones.
func deploymentDone(ctx context.Context, deployments interface {
	Get(context.Context, string, metav1.GetOptions) (*appsv1.Deployment, error)
}, name string, gen int64, replicas int) func() (bool, string) {
	want := int32(replicas)
	return func() (bool, string) {
		d, err := deployments.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		s := d.Status
		done := s.ObservedGeneration >= gen && s.UpdatedReplicas == want && s.Replicas == want && s.AvailableReplicas == want
		return done, fmt.Sprintf("observed generation %d (want %d), updated %d, replicas %d, available %d of %d",
			s.ObservedGeneration, gen, s.UpdatedReplicas, s.Replicas, s.AvailableReplicas, want)
	}
}

// directPodCreates is the baseline: the Deployment's pods (min(n, 2000) of them) created by one
// client with the controller manager's rate limits, 64 at a time, in a namespace of their own,
// with a schedulerName nobody serves so nothing else touches them.
func directPodCreates(tb testing.TB, c *testcluster.Cluster, n int) float64 {
	tb.Helper()
	n = min(n, 2000)
	client := c.Client()
	ctx := context.Background()
	ns := "direct"
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		tb.Fatal(err)
	}
	waitFor(tb, time.Now(), time.Minute, "default ServiceAccount", func() (bool, string) {
		_, err := client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, fmt.Sprint(err)
	})
	tmpl := benchDeployment("direct", n).Spec.Template
	tmpl.Spec.SchedulerName = "nobody"
	took, err := parallel(n, 64, func(i int) error {
		p := &corev1.Pod{ObjectMeta: tmpl.ObjectMeta, Spec: tmpl.Spec}
		p.Name = "direct-" + strconv.Itoa(i)
		_, err := client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		tb.Fatalf("direct creates: %v", err)
	}
	return rate(n, took)
}

// selfStatusMB reads a field (VmRSS, VmHWM) of this process's /proc status in MB.
func selfStatusMB(tb testing.TB, field string) float64 {
	tb.Helper()
	return procStatusMB(tb, "/proc/self/status", field)
}

// procStatusMB reads a field (VmRSS, VmHWM) of a /proc/<pid>/status file in MB.
func procStatusMB(tb testing.TB, path, field string) float64 {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read process status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				tb.Fatalf("parse %s: %v", line, err)
			}
			return kb / 1024
		}
	}
	tb.Fatalf("no %s in %s", field, path)
	return 0
}

// idleCores is the CPU this process burns over d, in cores.
func idleCores(d time.Duration) float64 {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	c0, t0 := cpu(), time.Now()
	time.Sleep(d)
	return float64(cpu()-c0) / float64(time.Since(t0))
}

func heapMB() float64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / (1 << 20)
}

// BenchmarkDeployment is the scale test, replicas10000/nodes1000: a Deployment reaches
// all-Ready on simulated nodes, rolls to a new image, and is deleted; replicas1000/nodes100 is
// the same at a tenth of the size, for profiling on a busy machine. Each runs once whatever b.N
// is (use -benchtime 1x); every figure is a b.ReportMetric.
func BenchmarkDeployment(b *testing.B) {
	for _, size := range []struct{ replicas, nodes int }{{1000, 100}, {10000, 1000}} {
		b.Run(fmt.Sprintf("replicas%d/nodes%d", size.replicas, size.nodes), func(b *testing.B) {
			measureDeployment(b, b, size.replicas, size.nodes, time.Hour).report(b)
		})
	}
}

// TestDeploymentHarness runs the Deployment measurement once at a tiny size, so that plain `go
// test` proves it works: every phase completes and the figures are plausible.
func TestDeploymentHarness(t *testing.T) {
	r := measureDeployment(t, nil, 40, 4, time.Minute)
	t.Logf("created %s, ready %s, available %s, rollout %s, deleted %s; direct %.0f pods/s",
		r.created, r.ready, r.available, r.rollout, r.deleted, r.directRate)
	if r.created <= 0 || r.ready < r.created || r.rollout <= 0 || r.deleted <= 0 || r.directRate <= 0 || r.rssMB < 10 || r.peakRSSMB < r.rssMB {
		t.Errorf("implausible result %+v", r)
	}
}
