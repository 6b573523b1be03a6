package cri

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/klite/klite/internal/runtime/testimage"
)

// BenchmarkPodStart measures RunPodSandbox → CreateContainer →
// StartContainer for b.N pods with the image present, against a bare
// fork+exec of the same command measured in the same run, and the memory
// (RSS) of each running pod's pause process and shim.
//
// Sub-benchmarks: the built-in libcontainer and the runc binary (when
// installed).
//
//	go test -run XXX -bench PodStart -benchtime 100x ./internal/runtime/cri
func BenchmarkPodStart(b *testing.B) {
	b.Run("builtin", func(b *testing.B) { benchPodStart(b, "") })
	b.Run("runc", func(b *testing.B) {
		if _, err := os.Stat(runcBinary); err != nil {
			b.Skipf("skipping: %s missing", runcBinary)
		}
		benchPodStart(b, runcBinary)
	})
}

// runcBinary is the OCI runtime binary compared with the built-in one.
const runcBinary = "/usr/sbin/runc"

func benchPodStart(b *testing.B, runc string) {
	c := serveWith(b, b.TempDir(), runc)
	ctx := context.Background()
	ref := pullBusybox(b, c)
	cmd := []string{"sleep", "1000"}
	var podStarts, forkExecs []time.Duration
	var pods []string
	defer func() {
		for _, p := range pods {
			_, _ = c.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p})
		}
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		podCfg := &runtimeapi.PodSandboxConfig{
			Metadata: &runtimeapi.PodSandboxMetadata{Name: fmt.Sprint("p", i), Namespace: "bench", Uid: fmt.Sprint("uid-", i)},
			Hostname: fmt.Sprint("p", i), LogDirectory: b.TempDir(),
		}
		run, err := c.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: podCfg})
		if err != nil {
			b.Fatal(err)
		}
		pods = append(pods, run.PodSandboxId)
		createStart(b, c, run.PodSandboxId, podCfg, "main", ref, cmd)
		podStarts = append(podStarts, time.Since(start))
		forkExecs = append(forkExecs, forkExec(b, append([]string{testimage.BusyboxPath}, cmd...)))
	}
	b.StopTimer()
	p50, p99 := percentile(podStarts, 50), percentile(podStarts, 99)
	base := percentile(forkExecs, 50)
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(base.Microseconds())/1000, "forkexec-p50-ms")
	b.ReportMetric(float64(p50)/float64(base), "p50/forkexec")
	rss, pss := podMemoryMiB(c)
	b.ReportMetric(rss, "rss-MiB/pod")
	b.ReportMetric(pss, "pss-MiB/pod")
}

// forkExec times starting cmd as a plain child process until it runs.
func forkExec(b *testing.B, cmd []string) time.Duration {
	start := time.Now()
	p := exec.Command(cmd[0], cmd[1:]...)
	if err := p.Start(); err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	_ = p.Process.Kill()
	_ = p.Wait()
	return d
}

func percentile(ds []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)*p/100]
}

// podMemoryMiB is the mean RSS and PSS (shared pages divided among their
// users) of a running pod's pause process and shim.
func podMemoryMiB(c clients) (rss, pss float64) {
	var pids []int
	sbs := c.svc.sandboxes.List()
	for _, sb := range sbs {
		pids = append(pids, sb.PausePID)
	}
	for _, ct := range c.svc.containers.List() {
		pids = append(pids, ct.ShimPid)
	}
	if len(sbs) == 0 {
		return 0, 0
	}
	var r, p int64
	for _, pid := range pids {
		m := smapsRollup(pid)
		r += m["Rss:"]
		p += m["Pss:"]
	}
	n := float64(len(sbs)) * 1024
	return float64(r) / n, float64(p) / n
}

// smapsRollup reads the kB fields of /proc/<pid>/smaps_rollup.
func smapsRollup(pid int) map[string]int64 {
	out := map[string]int64{}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return out
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && f[2] == "kB" {
			out[f[0]], _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	return out
}
