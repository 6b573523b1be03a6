package apply

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"
)

// Each benchmark reports its time per operation as a ratio to a baseline
// measured in the same run: a strategic merge patch of the same change
// (what the API server does for client-side apply) for Apply, encoding the
// object for storage for Update.

var (
	smpOnce   sync.Once
	smpResult testing.BenchmarkResult
	encOnce   sync.Once
	encResult testing.BenchmarkResult
)

func benchDeployment(b *testing.B, m *Manager) runtime.Object {
	live, err := m.Apply(nil, []byte(deployYAML(2, ", tier: fe", "nginx=nginx:1", "sidecar=busybox")), deployGVK, "kubectl", false)
	if err != nil {
		b.Fatal(err)
	}
	return stored(live)
}

func BenchmarkApplyDeployment(b *testing.B) {
	m := newManager(b)
	live := benchDeployment(b, m)
	patches := [][]byte{[]byte(deployYAML(3, ", tier: fe", "nginx=nginx:2", "sidecar=busybox")), []byte(deployYAML(2, ", tier: fe", "nginx=nginx:1", "sidecar=busybox"))}
	smpOnce.Do(func() { smpResult = testing.Benchmark(func(b *testing.B) { benchSMP(b, live, patches) }) })
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := m.Apply(live, patches[i%2], deployGVK, "kubectl", false)
		if err != nil {
			b.Fatal(err)
		}
		live = out
	}
	b.StopTimer()
	reportRatio(b, smpResult, "x-smp")
}

func benchSMP(b *testing.B, live runtime.Object, patches [][]byte) {
	cur, err := json.Marshal(live)
	if err != nil {
		b.Fatal(err)
	}
	var js [][]byte
	for _, p := range patches {
		j, err := yaml.YAMLToJSON(p)
		if err != nil {
			b.Fatal(err)
		}
		js = append(js, j)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := strategicpatch.StrategicMergePatch(cur, js[i%2], &appsv1.Deployment{})
		if err != nil {
			b.Fatal(err)
		}
		var d appsv1.Deployment
		if err := json.Unmarshal(out, &d); err != nil {
			b.Fatal(err)
		}
		cur = out
	}
}

func BenchmarkUpdateDeploymentStatus(b *testing.B) {
	m := newManager(b)
	live := benchDeployment(b, m)
	encOnce.Do(func() { encResult = testing.Benchmark(func(b *testing.B) { benchEncode(b, live) }) })
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		next := live.DeepCopyObject().(*appsv1.Deployment)
		next.Status.ObservedGeneration = int64(i)
		out, err := m.UpdateSubresource(live, next, deployGVK, Status, "kube-controller-manager")
		if err != nil {
			b.Fatal(err)
		}
		live = out
	}
	b.StopTimer()
	reportRatio(b, encResult, "x-encode")
}

func benchEncode(b *testing.B, live runtime.Object) {
	for i := 0; i < b.N; i++ {
		if _, err := json.Marshal(live); err != nil {
			b.Fatal(err)
		}
	}
}

func reportRatio(b *testing.B, baseline testing.BenchmarkResult, unit string) {
	if baseline.N == 0 || b.N == 0 {
		b.Fatal(fmt.Sprintf("no baseline measured (%d runs)", baseline.N))
	}
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp/float64(baseline.NsPerOp()), unit)
}
