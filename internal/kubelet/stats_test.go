package kubelet

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

func TestParseCPULine(t *testing.T) {
	cases := []struct {
		line    string
		want    uint64
		wantErr bool
	}{
		// user nice system idle iowait irq softirq steal guest guest_nice
		{line: "cpu  100 2 30 5000 70 4 5 6 0 0", want: (100 + 2 + 30 + 4 + 5 + 6) * 1e7},
		{line: "cpu0 1 2 3 4 5 6 7 8", wantErr: true},
		{line: "cpu 1 2", wantErr: true},
	}
	for _, tc := range cases {
		got, err := parseCPULine(tc.line)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parseCPULine(%q) = %d, %v; want %d (error %v)", tc.line, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestNodeMemory(t *testing.T) {
	mi := parseMeminfo("MemTotal:       1000 kB\nMemFree:         200 kB\nInactive(file):  300 kB\nAnonPages: 100 kB\nHugePages_Total: 0\n")
	m := nodeMemory(mi, metav1.Now())
	// usage = total - free = 800k; working set = usage - inactive file = 500k; available = total - ws.
	if *m.UsageBytes != 800*1024 || *m.WorkingSetBytes != 500*1024 || *m.AvailableBytes != 500*1024 || *m.RSSBytes != 100*1024 {
		t.Errorf("node memory = usage %d ws %d avail %d rss %d", *m.UsageBytes, *m.WorkingSetBytes, *m.AvailableBytes, *m.RSSBytes)
	}
}

func TestResourceMetricsFormat(t *testing.T) {
	at := metav1.NewTime(time.UnixMilli(1700000000123))
	sum := &statsapi.Summary{
		Node: statsapi.NodeStats{CPU: &statsapi.CPUStats{Time: at, UsageCoreNanoSeconds: u64(2_500_000_000)},
			Memory: &statsapi.MemoryStats{Time: at, WorkingSetBytes: u64(1024)}},
		Pods: []statsapi.PodStats{{PodRef: statsapi.PodReference{Name: "web", Namespace: "default"},
			CPU:    &statsapi.CPUStats{Time: at, UsageCoreNanoSeconds: u64(1_000_000_000)},
			Memory: &statsapi.MemoryStats{Time: at, WorkingSetBytes: u64(2048)},
			Containers: []statsapi.ContainerStats{{Name: "c\"1", StartTime: metav1.NewTime(time.Unix(1700000000, 0)),
				CPU: &statsapi.CPUStats{Time: at, UsageCoreNanoSeconds: u64(500_000_000)}, Memory: &statsapi.MemoryStats{Time: at, WorkingSetBytes: u64(4096)}}}}},
	}
	var b strings.Builder
	resourceMetrics(&b, sum)
	want := `# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="c\"1",namespace="default",pod="web"} 0.5 1700000000123
# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{container="c\"1",namespace="default",pod="web"} 4096 1700000000123
# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds
# TYPE container_start_time_seconds gauge
container_start_time_seconds{container="c\"1",namespace="default",pod="web"} 1.7e+09 1700000000000
# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds
# TYPE node_cpu_usage_seconds_total counter
node_cpu_usage_seconds_total 2.5 1700000000123
# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes
# TYPE node_memory_working_set_bytes gauge
node_memory_working_set_bytes 1024 1700000000123
# HELP pod_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the pod in core-seconds
# TYPE pod_cpu_usage_seconds_total counter
pod_cpu_usage_seconds_total{namespace="default",pod="web"} 1 1700000000123
# HELP pod_memory_working_set_bytes [STABLE] Current working set of the pod in bytes
# TYPE pod_memory_working_set_bytes gauge
pod_memory_working_set_bytes{namespace="default",pod="web"} 2048 1700000000123
# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise
# TYPE resource_scrape_error gauge
resource_scrape_error 0
# HELP scrape_error [ALPHA] 1 if there was an error while getting container metrics, 0 otherwise
# TYPE scrape_error gauge
scrape_error 0
`
	if b.String() != want {
		t.Errorf("metrics =\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	resourceMetrics(&b, nil)
	if b.String() != "# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise\n"+
		"# TYPE resource_scrape_error gauge\nresource_scrape_error 1\n"+
		"# HELP scrape_error [ALPHA] 1 if there was an error while getting container metrics, 0 otherwise\n# TYPE scrape_error gauge\nscrape_error 1\n" {
		t.Errorf("failed scrape =\n%s", b.String())
	}
}

// TestStatsSummaryAndMetrics reads /stats/summary and /metrics/resource of
// a kubelet running a busy pod.
func TestStatsSummaryAndMetrics(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.EvictionHard = []Threshold{} })
	e.create(e.pod("busy", `x="$(cat /bin/busybox)"; while true; do :; done`))
	e.waitPod("busy", 60*time.Second, "Running", running)
	e.summary() // first sample: the baseline of the cpu rates
	time.Sleep(1500 * time.Millisecond)
	sum := e.summary()

	n := sum.Node
	if n.NodeName != "node-1" || n.CPU == nil || n.CPU.UsageCoreNanoSeconds == nil || n.CPU.UsageNanoCores == nil || *n.CPU.UsageNanoCores == 0 {
		t.Errorf("node cpu = %+v", n.CPU)
	}
	if n.Memory == nil || n.Memory.AvailableBytes == nil || *n.Memory.AvailableBytes == 0 || *n.Memory.WorkingSetBytes == 0 {
		t.Errorf("node memory = %+v", n.Memory)
	}
	if n.Fs == nil || n.Fs.CapacityBytes == nil || *n.Fs.CapacityBytes == 0 || n.Fs.InodesFree == nil {
		t.Errorf("node fs = %+v", n.Fs)
	}
	if n.Runtime == nil || n.Runtime.ImageFs == nil || n.Runtime.ImageFs.UsedBytes == nil || *n.Runtime.ImageFs.UsedBytes == 0 ||
		n.Runtime.ImageFs.CapacityBytes == nil {
		t.Errorf("runtime image fs = %+v", n.Runtime)
	}
	ps := findPodStats(sum, "busy")
	if ps == nil {
		t.Fatalf("pod busy missing from summary: %+v", sum.Pods)
	}
	if ps.StartTime.IsZero() || ps.PodRef.Namespace != "default" || ps.PodRef.UID == "" {
		t.Errorf("pod ref/start = %+v %v", ps.PodRef, ps.StartTime)
	}
	// The busy loop uses a good part of a core (of a busy shared machine).
	if ps.CPU == nil || ps.CPU.UsageNanoCores == nil || *ps.CPU.UsageNanoCores < 10_000_000 || *ps.CPU.UsageCoreNanoSeconds == 0 {
		t.Errorf("pod cpu = %+v", ps.CPU)
	} else {
		t.Logf("busy pod: %d nano cores", *ps.CPU.UsageNanoCores)
	}
	if ps.Memory == nil || ps.Memory.WorkingSetBytes == nil || *ps.Memory.WorkingSetBytes < 1<<20 || *ps.Memory.UsageBytes < *ps.Memory.WorkingSetBytes {
		t.Errorf("pod memory = %+v", ps.Memory)
	}
	if len(ps.Containers) != 1 || ps.Containers[0].Name != "main" || ps.Containers[0].CPU == nil || ps.Containers[0].Memory == nil ||
		ps.Containers[0].StartTime.IsZero() || ps.Containers[0].Logs == nil {
		t.Errorf("containers = %+v", ps.Containers)
	}

	body, code := e.get("/metrics/resource")
	for _, want := range []string{
		`container_cpu_usage_seconds_total{container="main",namespace="default",pod="busy"} `,
		`container_memory_working_set_bytes{container="main",namespace="default",pod="busy"} `,
		`pod_cpu_usage_seconds_total{namespace="default",pod="busy"} `,
		`pod_memory_working_set_bytes{namespace="default",pod="busy"} `,
		"\nnode_cpu_usage_seconds_total ", "\nnode_memory_working_set_bytes ", "\nresource_scrape_error 0\n",
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics/resource (%d) lacks %q:\n%s", code, want, body)
		}
	}
}

func (e *env) summary() *statsapi.Summary {
	e.t.Helper()
	body, code := e.get("/stats/summary")
	if code != 200 {
		e.t.Fatalf("/stats/summary = %d %s", code, body)
	}
	var sum statsapi.Summary
	if err := json.Unmarshal([]byte(body), &sum); err != nil {
		e.t.Fatalf("decode summary: %v\n%s", err, body)
	}
	return &sum
}

func findPodStats(sum *statsapi.Summary, name string) *statsapi.PodStats {
	for i := range sum.Pods {
		if sum.Pods[i].PodRef.Name == name {
			return &sum.Pods[i]
		}
	}
	return nil
}

func TestCPURates(t *testing.T) {
	var r cpuRates
	t0 := time.Unix(1000, 0)
	if c := r.cpu("pod/a", t0, 1e9); c.UsageNanoCores != nil || *c.UsageCoreNanoSeconds != 1e9 {
		t.Errorf("first sample = %+v, want no rate", c)
	}
	r.commit()
	// Half a core over two seconds.
	if c := r.cpu("pod/a", t0.Add(2*time.Second), 2e9); c.UsageNanoCores == nil || *c.UsageNanoCores != 5e8 {
		t.Errorf("rate = %+v, want 5e8 nano cores", c)
	}
	r.commit()
	// A sample 100 ms later does not replace the baseline of 2 s ...
	r.cpu("pod/a", t0.Add(2100*time.Millisecond), 2.2e9)
	r.commit()
	// ... so the next rate spans it: 0.3 s of cpu in 0.5 s.
	if c := r.cpu("pod/a", t0.Add(2500*time.Millisecond), 2.3e9); c.UsageNanoCores == nil || *c.UsageNanoCores != 6e8 {
		t.Errorf("rate = %+v, want 6e8 against the kept baseline", c)
	}
	r.commit()
	r.cpu("pod/b", t0.Add(5*time.Second), 1)
	r.commit() // pod/a went away
	if c := r.cpu("pod/a", t0.Add(6*time.Second), 9e9); c.UsageNanoCores != nil {
		t.Errorf("a pod that went away kept its baseline: %+v", c)
	}
}
