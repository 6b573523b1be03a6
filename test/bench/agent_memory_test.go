package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/runtime/testimage"
)

// Goals of issue 7 (the kubelet): the agent's RSS with 100 running pods, and each pod's shim and
// pause processes.
const (
	agentGoalMB  = 60.0
	podGoalMB    = 5.0
	agentBenchNS = "agent-memory"
)

// agentMemoryResult is the memory of a `klite agent` process idle and running pods pods, and the
// mean memory of each pod's helper processes (its pause process and its one container's shim).
type agentMemoryResult struct {
	pods         int
	idle, loaded procMemory
	pause, shim  procMemory // means per process
}

// perPod is a pod's helpers together: one pause process and one shim.
func (r agentMemoryResult) perPod() procMemory {
	return procMemory{rssMB: r.pause.rssMB + r.shim.rssMB, anonMB: r.pause.anonMB + r.shim.anonMB,
		pssMB: r.pause.pssMB + r.shim.pssMB}
}

func (r agentMemoryResult) report(b *testing.B) {
	b.ReportMetric(r.idle.rssMB, "idle-RSS-MB")
	b.ReportMetric(r.idle.pssMB, "idle-PSS-MB")
	b.ReportMetric(r.loaded.rssMB, "pods-RSS-MB")
	b.ReportMetric(r.loaded.pssMB, "pods-PSS-MB")
	b.ReportMetric(r.idle.anonMB, "idle-anon-MB")
	b.ReportMetric(r.loaded.anonMB, "pods-anon-MB")
	b.ReportMetric(r.shim.rssMB, "shim-RSS-MB")
	b.ReportMetric(r.shim.pssMB, "shim-PSS-MB")
	b.ReportMetric(r.shim.anonMB, "shim-anon-MB")
	b.ReportMetric(r.pause.rssMB, "pause-RSS-MB")
	b.ReportMetric(r.pause.pssMB, "pause-PSS-MB")
	b.ReportMetric(r.perPod().pssMB, "pod-PSS-MB")
	b.ReportMetric(r.loaded.rssMB/agentGoalMB, "agent/goal")
	b.ReportMetric(r.perPod().pssMB/podGoalMB, "pod/goal")
	b.ReportMetric(float64(r.pods), "pods")
}

// measureAgentMemory starts `klite server --disable-agent` and one `klite agent` (bin), reads the
// agent's memory once its node is Ready (after settle), runs pods sleeping busybox pods on the
// node, and reads the agent's and the pods' helpers' memory once all are Running (after settle).
// Cleanup deletes the pods and checks their processes and mounts are gone.
func measureAgentMemory(tb testing.TB, bin string, pods int, settle time.Duration) agentMemoryResult {
	tb.Helper()
	requireAgentHost(tb)
	image := testimage.Registry(tb) + "/bench/busybox:1"
	testimage.Push(tb, image, testimage.Busybox(tb))
	s := startServer(tb, bin)
	a := startAgent(tb, bin, s, "bench-node-1")
	time.Sleep(settle)
	r := agentMemoryResult{pods: pods, idle: mustProcMemory(tb, a.pid())}
	runPods(tb, s, a, image, pods)
	time.Sleep(settle)
	r.loaded = mustProcMemory(tb, a.pid())
	r.pause, r.shim = helperMemory(tb, a, pods)
	return r
}

// runPods creates n pods bound to the agent's node, waits until all are Running, and registers
// their deletion: every pod gone from the API, every pause process and shim of the agent exited.
func runPods(tb testing.TB, s *serverProcess, a *agentProcess, image string, n int) {
	tb.Helper()
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: agentBenchNS}}
	if _, err := s.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		tb.Fatalf("create namespace: %v", err)
	}
	tb.Cleanup(func() { deletePods(tb, s, a) })
	_, err := parallel(n, 8, func(i int) error {
		_, err := s.client.CoreV1().Pods(agentBenchNS).Create(ctx, sleepPod(fmt.Sprintf("sleep-%d", i), a.node, image), metav1.CreateOptions{})
		return err
	})
	if err != nil {
		tb.Fatalf("create pods: %v", err)
	}
	poll(tb, time.Duration(n)*time.Second+60*time.Second, fmt.Sprintf("%d pods Running", n), func() (bool, string) {
		list, err := s.client.CoreV1().Pods(agentBenchNS).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		running := 0
		for i := range list.Items {
			if list.Items[i].Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return running == n, fmt.Sprintf("%d of %d Running", running, n)
	})
}

// deletePods deletes the benchmark's pods and waits until the API and the agent's process tree
// have none left.
func deletePods(tb testing.TB, s *serverProcess, a *agentProcess) {
	ctx := context.Background()
	grace := int64(1)
	err := s.client.CoreV1().Pods(agentBenchNS).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &grace}, metav1.ListOptions{})
	if err != nil {
		tb.Errorf("delete pods: %v", err)
		return
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		list, err := s.client.CoreV1().Pods(agentBenchNS).List(ctx, metav1.ListOptions{})
		helpers := a.helpers()
		if err == nil && len(list.Items) == 0 && len(helpers) == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Errorf("pods not gone 2 minutes after their deletion: list error %v, %d pods, %d pause processes and shims left",
				err, len(list.Items), len(helpers))
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// sleepPod is a one-container busybox pod bound to node.
func sleepPod(name, node, image string) *corev1.Pod {
	grace := int64(1)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: agentBenchNS},
		Spec: corev1.PodSpec{NodeName: node, TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{Name: "c", Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
				Command: []string{"sleep", "3600"}}}},
	}
}

// helperMemory is the mean memory of the agent's pause processes and of its shims; it fails tb
// unless there are pods of each.
func helperMemory(tb testing.TB, a *agentProcess, pods int) (pause, shim procMemory) {
	tb.Helper()
	sums := map[string]*procMemory{pauseArgv0: &pause, shimArgv0: &shim}
	counts := map[string]int{}
	for _, h := range a.helpers() {
		m, ok := readProcMemory(h.pid)
		if !ok {
			continue
		}
		sums[h.argv0].rssMB += m.rssMB
		sums[h.argv0].pssMB += m.pssMB
		sums[h.argv0].anonMB += m.anonMB
		counts[h.argv0]++
	}
	for argv0, sum := range sums {
		if counts[argv0] != pods {
			tb.Fatalf("%d %s processes for %d running pods", counts[argv0], argv0, pods)
		}
		sum.rssMB /= float64(pods)
		sum.pssMB /= float64(pods)
		sum.anonMB /= float64(pods)
	}
	return pause, shim
}

// mustProcMemory reads a running process's memory.
func mustProcMemory(tb testing.TB, pid int) procMemory {
	tb.Helper()
	m, ok := readProcMemory(pid)
	if !ok {
		tb.Fatalf("process %d is gone", pid)
	}
	return m
}

// BenchmarkAgentMemory reports the memory of a real `klite agent` process (VmRSS and PSS) idle
// and running 100 pods, and the mean memory of a pod's pause process and shim, against issue 7's
// goals (≤ 60 MB for the agent, ≤ 5 MB per pod). It runs once whatever b.N is; it needs root.
func BenchmarkAgentMemory(b *testing.B) {
	requireAgentHost(b)
	bin := buildKlite(b)
	b.Run("pods100", func(b *testing.B) {
		measureAgentMemory(b, bin, 100, 5*time.Second).report(b)
	})
}
