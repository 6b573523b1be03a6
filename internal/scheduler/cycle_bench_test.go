package scheduler

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/klite/klite/internal/scheduler/framework"
)

// BenchmarkSchedulingCycle measures the decision alone (snapshot, filters, scores, assume) with
// the default plugins on 500 nodes, no API calls: the ceiling the scheduler itself puts on
// throughput. BenchmarkSchedule measures the whole path against a real API server.
func BenchmarkSchedulingCycle(b *testing.B) {
	for _, nodes := range []int{500, 1000, 5000} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) { benchCycle(b, nodes) })
	}
}

func benchCycle(b *testing.B, numNodes int) {
	// The client is never called: informers are not started, listers stay empty.
	client := kubernetes.NewForConfigOrDie(&rest.Config{Host: "http://127.0.0.1:1"})
	s, err := New(context.Background(), Config{Client: client, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	for i := range numNodes {
		s.cache.AddNode(&corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("n-%05d", i), Labels: map[string]string{corev1.LabelHostname: fmt.Sprintf("n-%05d", i)}},
			Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("256Gi"), corev1.ResourcePods: resource.MustParse("110"),
			}},
		})
	}
	fw := s.profiles[DefaultSchedulerName]
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("p-%d", i), UID: types.UID(fmt.Sprint(i))},
			Spec: corev1.PodSpec{SchedulerName: DefaultSchedulerName, Containers: []corev1.Container{{Name: "c", Image: "pause",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("100Mi"),
				}}}}},
		}
		snap := s.cache.Snapshot()
		s.snapshot.Store(snap)
		res, err := s.schedulePod(ctx, fw, framework.NewCycleState(), pod, snap)
		if err != nil {
			b.Fatal(err)
		}
		pod.Spec.NodeName = res.node
		if err := s.cache.AssumePod(pod); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pods/s")
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b.ReportMetric(float64(m.HeapInuse)/(1<<20), "heap-MB") // the scheduler's cache with every pod placed
}
