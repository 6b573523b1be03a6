package apply

import (
	"encoding/json"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"
)

// Each benchmark reports its time per operation as a ratio to a baseline
// run as many times in the same benchmark: a strategic merge patch of the
// same change (what the API server does for client-side apply) for Apply,
// encoding the object for storage for Update.

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
	patches := [][]byte{
		[]byte(deployYAML(3, ", tier: fe", "nginx=nginx:2", "sidecar=busybox")),
		[]byte(deployYAML(2, ", tier: fe", "nginx=nginx:1", "sidecar=busybox")),
	}
	baseline := timeSMP(b, live, patches)
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
	b.ReportMetric(float64(b.Elapsed())/float64(baseline), "x-smp")
}

// timeSMP times b.N strategic merge patches decoded into a Deployment.
func timeSMP(b *testing.B, live runtime.Object, patches [][]byte) time.Duration {
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
	start := time.Now()
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
	return time.Since(start)
}

func BenchmarkUpdateDeploymentStatus(b *testing.B) {
	m := newManager(b)
	live := benchDeployment(b, m)
	baseline := timeEncode(b, live)
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
	b.ReportMetric(float64(b.Elapsed())/float64(baseline), "x-encode")
}

// timeEncode times b.N JSON encodings of live, as the store writes it.
func timeEncode(b *testing.B, live runtime.Object) time.Duration {
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := json.Marshal(live); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

// BenchmarkCreatePod times recording the creator of a realistic pod, as a
// ratio to upstream's general field manager doing the same create in the
// same run.
func BenchmarkCreatePod(b *testing.B) {
	m := newManager(b)
	p := createPod()
	p.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}
	objs := make([]runtime.Object, b.N)
	for i := range objs {
		objs[i] = p.DeepCopy()
	}
	start := time.Now()
	for i := 0; i < b.N; i++ {
		empty, _ := m.empty(podGVK)
		if _, err := m.managers[target{podGVK, ""}].Update(empty, objs[i], "bench"); err != nil {
			b.Fatal(err)
		}
	}
	baseline := time.Since(start)
	for i := range objs {
		objs[i] = p.DeepCopy()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Update(nil, objs[i], podGVK, "bench"); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed())/float64(baseline), "x-general")
}

// BenchmarkCreatePods times recording the creators of a stream of pods
// that relate to each other as a controller's or a user's do, as a ratio
// to upstream's general field manager recording the same creates.
func BenchmarkCreatePods(b *testing.B) {
	for _, bc := range []struct {
		name string
		pod  func(i int) *corev1.Pod
	}{
		{"replicaset", replicaSetPod},
		{"statefulset", statefulSetPod},
		{"daemonset", daemonSetPod},
		{"unrelated", unrelatedPod},
	} {
		b.Run(bc.name, func(b *testing.B) { benchCreates(b, bc.pod) })
	}
}

func benchCreates(b *testing.B, pod func(i int) *corev1.Pod) {
	m := newManager(b)
	pods := make([]*corev1.Pod, b.N)
	for i := range pods {
		pods[i] = pod(i)
	}
	start := time.Now()
	for i := 0; i < b.N; i++ {
		empty, _ := m.empty(podGVK)
		if _, err := m.managers[target{podGVK, ""}].Update(empty, pods[i].DeepCopy(), "bench"); err != nil {
			b.Fatal(err)
		}
	}
	baseline := time.Since(start)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Update(nil, pods[i], podGVK, "bench"); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed())/float64(baseline), "x-general")
}
