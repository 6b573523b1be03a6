package kubelet

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// BenchmarkPodStartup creates b.N pods at once on one node with the image
// present and measures create → Running (as a watch sees it), p50 and
// p99, against the baseline of the runtime alone (sandbox + container
// started straight through the CRI) measured in the same run:
//
//	go test -run XXX -bench PodStartup -benchtime 100x ./internal/kubelet
//
// (with KLITE_TEST_RUNC=/usr/sbin/runc the containers run under that binary).
//
// It also reports the CRI calls the kubelet made per pod (cri-calls/pod);
// creating a pod needs at least RunPodSandbox, CreateContainer and
// StartContainer.
func BenchmarkPodStartup(b *testing.B) {
	calls := &countingRuntime{}
	e := newEnv(b, func(c *Config) { calls.RuntimeServiceClient = c.Runtime; c.Runtime = calls })
	ctx := context.Background()
	base := e.criBaseline(b)
	w, err := e.client.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	created := map[string]time.Time{}
	var mu sync.Mutex
	// The watch is read while pods are still being created: an event
	// left unread would be timed when the loop ends, not when it came.
	res := make(chan latencies, 1)
	go func() { res <- waitRunning(w, created, &mu, b.N) }()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := e.pod(fmt.Sprintf("bench-%d", i), "while true; do sleep 1; done")
		mu.Lock()
		created[p.Name] = time.Now()
		mu.Unlock()
		if _, err := e.client.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	r := <-res
	b.StopTimer()
	if r.err != nil {
		b.Fatal(r.err)
	}
	lat := r.lat
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[(len(lat)*99+99)/100-1]
	b.ReportMetric(float64(p50.Milliseconds()), "p50-ms")
	b.ReportMetric(float64(p99.Milliseconds()), "p99-ms")
	b.ReportMetric(float64(base.Milliseconds()), "cri-baseline-ms")
	b.ReportMetric(float64(p50)/float64(base), "p50/baseline")
	b.ReportMetric(float64(calls.n.Load())/float64(b.N), "cri-calls/pod")
	b.Logf("CRI calls during the run: %s", calls.String())
}

// countingRuntime counts the kubelet's calls to the runtime by method.
type countingRuntime struct {
	runtimeapi.RuntimeServiceClient
	n       atomic.Int64
	mu      sync.Mutex
	methods map[string]int
}

func (c *countingRuntime) count(method string) {
	c.n.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.methods == nil {
		c.methods = map[string]int{}
	}
	c.methods[method]++
}

func (c *countingRuntime) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := slices.Sorted(maps.Keys(c.methods))
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, c.methods[k]))
	}
	return strings.Join(parts, " ")
}

func (c *countingRuntime) ListPodSandbox(ctx context.Context, in *runtimeapi.ListPodSandboxRequest, opts ...grpc.CallOption) (*runtimeapi.ListPodSandboxResponse, error) {
	c.count("ListPodSandbox")
	return c.RuntimeServiceClient.ListPodSandbox(ctx, in, opts...)
}

func (c *countingRuntime) ListContainers(ctx context.Context, in *runtimeapi.ListContainersRequest, opts ...grpc.CallOption) (*runtimeapi.ListContainersResponse, error) {
	c.count("ListContainers")
	return c.RuntimeServiceClient.ListContainers(ctx, in, opts...)
}

func (c *countingRuntime) PodSandboxStatus(ctx context.Context, in *runtimeapi.PodSandboxStatusRequest, opts ...grpc.CallOption) (*runtimeapi.PodSandboxStatusResponse, error) {
	c.count("PodSandboxStatus")
	return c.RuntimeServiceClient.PodSandboxStatus(ctx, in, opts...)
}

func (c *countingRuntime) ContainerStatus(ctx context.Context, in *runtimeapi.ContainerStatusRequest, opts ...grpc.CallOption) (*runtimeapi.ContainerStatusResponse, error) {
	c.count("ContainerStatus")
	return c.RuntimeServiceClient.ContainerStatus(ctx, in, opts...)
}

func (c *countingRuntime) RunPodSandbox(ctx context.Context, in *runtimeapi.RunPodSandboxRequest, opts ...grpc.CallOption) (*runtimeapi.RunPodSandboxResponse, error) {
	c.count("RunPodSandbox")
	return c.RuntimeServiceClient.RunPodSandbox(ctx, in, opts...)
}

func (c *countingRuntime) CreateContainer(ctx context.Context, in *runtimeapi.CreateContainerRequest, opts ...grpc.CallOption) (*runtimeapi.CreateContainerResponse, error) {
	c.count("CreateContainer")
	return c.RuntimeServiceClient.CreateContainer(ctx, in, opts...)
}

func (c *countingRuntime) StartContainer(ctx context.Context, in *runtimeapi.StartContainerRequest, opts ...grpc.CallOption) (*runtimeapi.StartContainerResponse, error) {
	c.count("StartContainer")
	return c.RuntimeServiceClient.StartContainer(ctx, in, opts...)
}

func (c *countingRuntime) ListPodSandboxStats(ctx context.Context, in *runtimeapi.ListPodSandboxStatsRequest, opts ...grpc.CallOption) (*runtimeapi.ListPodSandboxStatsResponse, error) {
	c.count("ListPodSandboxStats")
	return c.RuntimeServiceClient.ListPodSandboxStats(ctx, in, opts...)
}

// latencies are create → Running of each pod, or why they are not all there.
type latencies struct {
	lat []time.Duration
	err error
}

// waitRunning reads the watch until n pods of created were seen Running.
func waitRunning(w watch.Interface, created map[string]time.Time, mu *sync.Mutex, n int) latencies {
	seen := map[string]bool{}
	var lat []time.Duration
	timeout := time.After(5 * time.Minute)
	for len(lat) < n {
		select {
		case ev := <-w.ResultChan():
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || seen[p.Name] || p.Status.Phase != corev1.PodRunning {
				continue
			}
			mu.Lock()
			start, ok := created[p.Name]
			mu.Unlock()
			if ok {
				seen[p.Name] = true
				lat = append(lat, time.Since(start))
			}
		case <-timeout:
			return latencies{lat, fmt.Errorf("only %d of %d pods Running", len(lat), n)}
		}
	}
	return latencies{lat: lat}
}

// criBaseline starts one sandbox and container straight through the CRI.
func (e *env) criBaseline(b *testing.B) time.Duration {
	ctx := context.Background()
	img, err := e.cfg.Images.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.image}})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	sbCfg := &runtimeapi.PodSandboxConfig{Metadata: &runtimeapi.PodSandboxMetadata{Name: "baseline", Namespace: "bench", Uid: "baseline"},
		LogDirectory: b.TempDir()}
	sb, err := e.cfg.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sbCfg})
	if err != nil {
		b.Fatal(err)
	}
	c, err := e.cfg.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb.PodSandboxId, SandboxConfig: sbCfg,
		Config: &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: &runtimeapi.ImageSpec{Image: img.ImageRef},
			Command: []string{"sleep", "3600"}, LogPath: "c.log"}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := e.cfg.Runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: c.ContainerId}); err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	_, _ = e.cfg.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.PodSandboxId})
	_, _ = e.cfg.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.PodSandboxId})
	return d
}
