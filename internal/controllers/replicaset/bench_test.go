package replicaset

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BenchmarkScaleUp measures how long the controller takes to bring a ReplicaSet from 0 to
// benchPods pods, against a baseline of the same number of pods created directly by 16
// parallel clients in the same run; it reports the ratio (controller time / baseline time).
func BenchmarkScaleUp(b *testing.B) {
	const benchPods = 1000
	start(b) // controllers run for the whole benchmark
	for i := 0; i < b.N; i++ {
		base := baseline(b, benchPods)
		ns := env.Namespace(b)
		n := int32(benchPods)
		t0 := time.Now()
		if _, err := env.Client.AppsV1().ReplicaSets(ns).Create(context.Background(), &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec:       appsv1.ReplicaSetSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: webLabels}, Template: template()},
		}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		for {
			rs, err := env.Client.AppsV1().ReplicaSets(ns).Get(context.Background(), "web", metav1.GetOptions{})
			if err == nil && rs.Status.Replicas == n {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		took := time.Since(t0)
		b.ReportMetric(float64(benchPods)/took.Seconds(), "pods/s")
		b.ReportMetric(took.Seconds()/base.Seconds(), "x-baseline")
	}
}

func baseline(b *testing.B, n int) time.Duration {
	ns := env.Namespace(b)
	t0 := time.Now()
	var wg sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i)}, Spec: template().Spec}
				if _, err := env.Client.CoreV1().Pods(ns).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	return time.Since(t0)
}
