package scheduler_test

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/klite/klite/internal/apiserver/apiservertest"
	"github.com/klite/klite/internal/scheduler"
	"github.com/klite/klite/internal/sim"
)

var (
	benchNodes = flag.Int("bench-nodes", 500, "simulated nodes for BenchmarkSchedule")
	benchPods  = flag.Int("bench-pods", 5000, "pending pods for BenchmarkSchedule")
	benchLimit = flag.Duration("bench-limit", 10*time.Minute, "how long BenchmarkSchedule waits for every pod to be bound")
)

// BenchmarkSchedule creates a backlog of pending pods (cpu/memory requests) on simulated nodes,
// then starts the scheduler alone and measures pods bound per second. The baseline, measured
// in the same run against the same server, is the rate of raw pods/binding calls (16 clients).
func BenchmarkSchedule(b *testing.B) {
	c := apiservertest.StartT(b, apiservertest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	b.Cleanup(func() { cancel(); wg.Wait() })
	s, err := sim.New(sim.Config{Client: c.Client, Nodes: *benchNodes, NamePrefix: "bench", Logger: quietLogger(), Workers: 32})
	if err != nil {
		b.Fatal(err)
	}
	wg.Go(func() { _ = s.Start(ctx) })
	<-s.Ready()
	baseline := bindingBaseline(b, c.Client, s.NodeNames(), *benchPods/5)
	createPending(b, c.Client, "bench", *benchPods)

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	start := time.Now()
	sched, err := scheduler.New(ctx, scheduler.Config{Client: c.Client, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	wg.Go(func() { _ = sched.Start(ctx) })
	for sched.Stats().Bound < *benchPods {
		if time.Since(start) > *benchLimit {
			b.Fatalf("only %d of %d pods bound", sched.Stats().Bound, *benchPods)
		}
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	// The growth since the scheduler started approximates its own heap (informer caches, cache,
	// queue, decisions), though the API server's watch cache also grows with the bindings.
	grown := (int64(after.HeapInuse) - int64(before.HeapInuse)) >> 20
	st := sched.Stats()
	rate := float64(*benchPods) / elapsed.Seconds()
	b.ReportMetric(rate, "pods/s")
	b.ReportMetric(baseline, "raw-binds/s")
	b.ReportMetric(rate/baseline, "ratio")
	b.ReportMetric(float64(st.P50.Milliseconds()), "p50-ms")
	b.ReportMetric(float64(st.P99.Milliseconds()), "p99-ms")
	b.ReportMetric(float64(st.CycleP50.Microseconds()), "cycle-p50-µs")
	b.ReportMetric(float64(st.CycleP99.Microseconds()), "cycle-p99-µs")
	b.ReportMetric(float64(grown), "heap-growth-MB")
	b.Logf("%d nodes, %d pods: scheduled in %v = %.0f pods/s (raw binding %.0f/s, ratio %.2f); latency queued→bound p50 %v p99 %v, scheduling cycle p50 %v p99 %v; heap in use %d MB (process, incl. API server and etcd), %d MB more than before the scheduler started",
		*benchNodes, *benchPods, elapsed.Round(time.Millisecond), rate, baseline, rate/baseline, st.P50, st.P99, st.CycleP50, st.CycleP99, after.HeapInuse>>20, grown)
}

// createPending creates n pending pods in a new namespace with 16 concurrent clients.
func createPending(b *testing.B, c kubernetes.Interface, prefix string, n int) string {
	ns, err := c.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}, metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	parallel(b, n, func(i int) error {
		_, err := c.CoreV1().Pods(ns.Name).Create(context.Background(), benchPod(ns.Name, fmt.Sprintf("p-%d", i)), metav1.CreateOptions{})
		return err
	})
	return ns.Name
}

func benchPod(ns, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("100Mi"),
			}}}}},
	}
}

// bindingBaseline creates n pods, then binds them with raw pods/binding calls round-robin over
// the nodes and returns the binding rate.
func bindingBaseline(b *testing.B, c kubernetes.Interface, nodes []string, n int) float64 {
	ns := createPending(b, c, "baseline", n)
	// Give these pods a scheduler that does not exist so the benchmarked scheduler ignores them.
	start := time.Now()
	parallel(b, n, func(i int) error {
		return c.CoreV1().Pods(ns).Bind(context.Background(), &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("p-%d", i)},
			Target:     corev1.ObjectReference{Kind: "Node", Name: nodes[i%len(nodes)]},
		}, metav1.CreateOptions{})
	})
	return float64(n) / time.Since(start).Seconds()
}

func parallel(b *testing.B, n int, fn func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := fn(i); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
}
