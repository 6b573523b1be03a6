package kubelet

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/klite/klite/internal/runtime/testimage"
)

func TestParseThresholds(t *testing.T) {
	cases := []struct {
		in, want, errSub string
	}{
		{in: DefaultEvictionHard, want: "memory.available<100Mi,nodefs.available<10%,imagefs.available<15%,nodefs.inodesFree<5%"},
		{in: "", want: ""},
		{in: "memory.available<1000Ti", want: "memory.available<1000Ti"},
		{in: " pid.available < 12.5% ", want: "pid.available<12.5%"},
		{in: "memory.available>1Gi", errSub: "want signal<value"},
		{in: "cpu.available<1", errSub: "unknown signal"},
		{in: "nodefs.available<120%", errSub: "percentage"},
		{in: "memory.available<lots", errSub: "memory.available<lots"},
		{in: "memory.available<-1Mi", errSub: "negative"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			ts, err := ParseThresholds(tc.in)
			if tc.errSub != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errSub) {
					t.Fatalf("ParseThresholds(%q) error = %v, want %q", tc.in, err, tc.errSub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, th := range ts {
				got = append(got, th.String())
			}
			if strings.Join(got, ",") != tc.want {
				t.Errorf("ParseThresholds(%q) = %v, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func u64(v uint64) *uint64 { return &v }

// nodeSummary builds a summary of a node with the given free memory and
// free nodefs/imagefs bytes out of 1000.
func nodeSummary(memAvail, memWS, fsAvail, imgAvail uint64) *statsapi.Summary {
	fs := func(avail uint64) *statsapi.FsStats {
		return &statsapi.FsStats{CapacityBytes: u64(1000), AvailableBytes: u64(avail), Inodes: u64(1000), InodesFree: u64(900)}
	}
	return &statsapi.Summary{Node: statsapi.NodeStats{
		Memory:  &statsapi.MemoryStats{AvailableBytes: u64(memAvail), WorkingSetBytes: u64(memWS)},
		Fs:      fs(fsAvail),
		Runtime: &statsapi.RuntimeStats{ImageFs: fs(imgAvail)},
	}}
}

func TestMetThresholds(t *testing.T) {
	mi := uint64(1 << 20)
	cases := []struct {
		name string
		sum  *statsapi.Summary
		want []Signal
	}{
		{"nothing starved", nodeSummary(500*mi, 100*mi, 500, 500), nil},
		{"memory below 100Mi", nodeSummary(99*mi, 900*mi, 500, 500), []Signal{SignalMemoryAvailable}},
		{"nodefs below 10%", nodeSummary(500*mi, 100*mi, 99, 500), []Signal{SignalNodeFsAvailable}},
		{"imagefs below 15% but nodefs not below 10%", nodeSummary(500*mi, 100*mi, 140, 140), []Signal{SignalImageFsAvailable}},
		{"exactly at the threshold is not below", nodeSummary(100*mi, 100*mi, 100, 150), nil},
	}
	ts, _ := ParseThresholds(DefaultEvictionHard)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []Signal
			for _, th := range metThresholds(ts, observe(tc.sum)) {
				got = append(got, th.Signal)
			}
			if strings.Join(signalStrings(got), ",") != strings.Join(signalStrings(tc.want), ",") {
				t.Errorf("met = %v, want %v", got, tc.want)
			}
		})
	}
}

func signalStrings(s []Signal) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = string(v)
	}
	return out
}

// evictPodFixture builds a pod with a priority and a memory request
// ("" for none) and its stats with a memory working set.
func evictPodFixture(name string, priority int32, request string, usage uint64) candidate {
	c := corev1.Container{Name: "main"}
	if request != "" {
		c.Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: mustQ(request)}
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Priority: &priority, Containers: []corev1.Container{c}}}
	ws := &statsapi.MemoryStats{WorkingSetBytes: u64(usage)}
	return candidate{pod: pod, stats: statsapi.PodStats{Memory: ws, Containers: []statsapi.ContainerStats{{Name: "main", Memory: ws}}}}
}

func TestRankForEviction(t *testing.T) {
	mi := uint64(1 << 20)
	cases := []struct {
		name  string
		cands []candidate
		want  string
	}{
		{"BestEffort before Burstable within requests, whatever the priority", []candidate{
			evictPodFixture("burstable-low", 0, "1Gi", 500*mi), evictPodFixture("besteffort-high", 1000, "", 10*mi)},
			"besteffort-high,burstable-low"},
		{"among pods exceeding requests, lower priority first", []candidate{
			evictPodFixture("be-high", 1000, "", 10*mi), evictPodFixture("burstable-over-low", 0, "10Mi", 50*mi), evictPodFixture("be-low", 0, "", 1*mi)},
			"burstable-over-low,be-low,be-high"},
		{"same priority: larger usage above requests first", []candidate{
			evictPodFixture("small", 0, "", 10*mi), evictPodFixture("big", 0, "", 100*mi), evictPodFixture("over-by-5", 0, "95Mi", 100*mi)},
			"big,small,over-by-5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rankForEviction(tc.cands, corev1.ResourceMemory)
			var got []string
			for _, c := range tc.cands {
				got = append(got, c.pod.Name)
			}
			if strings.Join(got, ",") != tc.want {
				t.Errorf("order = %v, want %s", got, tc.want)
			}
		})
	}
}

func TestEvictionMessage(t *testing.T) {
	ts, _ := ParseThresholds("memory.available<100Mi")
	c := evictPodFixture("p", 0, "", 10<<20)
	got := evictionMessage(ts[0], observation{available: 50 << 20, capacity: 1 << 30}, c, corev1.ResourceMemory)
	want := "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. " +
		"Container main was using 10Mi, request is 0, has larger consumption of memory. "
	if got != want {
		t.Errorf("message =\n%q\nwant\n%q", got, want)
	}
}

func TestPressureTransition(t *testing.T) {
	var p pressure
	now := time.Now()
	if p.under(corev1.NodeMemoryPressure, now, time.Minute) {
		t.Fatal("pressure before any observation")
	}
	p.observe(corev1.NodeMemoryPressure, now)
	if !p.under(corev1.NodeMemoryPressure, now.Add(59*time.Second), time.Minute) {
		t.Error("pressure cleared within the transition period")
	}
	if p.under(corev1.NodeMemoryPressure, now.Add(time.Minute), time.Minute) {
		t.Error("pressure kept after the transition period")
	}
	if p.under(corev1.NodeDiskPressure, now, time.Minute) {
		t.Error("memory pressure set disk pressure")
	}
}

// TestEvictionUnderMemoryPressure restarts a kubelet running three pods
// with a memory threshold that this machine always meets: the node reports
// MemoryPressure, and the pods are evicted one per monitoring period, the
// lowest-priority BestEffort pod first and the Burstable pod within its
// requests last; an evicted pod is Failed/Evicted and stays stopped.
func TestEvictionUnderMemoryPressure(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.EvictionHard = []Threshold{} })
	prio := func(p int32) func(*corev1.Pod) { return func(pod *corev1.Pod) { pod.Spec.Priority = &p } }
	hog := `x="$(cat /bin/busybox /bin/busybox)"; sleep 3600`
	e.create(e.pod("be-low", hog, prio(0)))
	e.create(e.pod("be-high", hog, prio(1000)))
	e.create(e.pod("burstable", "sleep 3600", prio(0), func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: mustQ("1Gi")}
	}))
	names := []string{"be-low", "be-high", "burstable"}
	for _, n := range names {
		e.waitPod(n, 60*time.Second, "Running", running)
	}
	e.stop()
	e.cfg.EvictionHard, _ = ParseThresholds("memory.available<1000Ti")
	e.cfg.EvictionMonitoringPeriod = 2 * time.Second
	e.startKubelet()

	order := e.evictionOrder(names, 40*time.Second)
	if strings.Join(order, ",") != "be-low,be-high,burstable" {
		t.Errorf("eviction order = %v, want be-low, be-high, burstable", order)
	}
	p := e.waitPod("be-low", time.Second, "evicted", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if p.Status.Reason != "Evicted" || !strings.Contains(p.Status.Message, "low on resource: memory") {
		t.Errorf("evicted pod status: reason %q message %q", p.Status.Reason, p.Status.Message)
	}
	if c := podCondition(p, corev1.DisruptionTarget); c == nil || c.Status != corev1.ConditionTrue || c.Reason != "TerminationByKubelet" {
		t.Errorf("DisruptionTarget condition = %+v", c)
	}
	e.waitNodeCondition(corev1.NodeMemoryPressure, corev1.ConditionTrue, 10*time.Second)
	// The evicted pods' containers stop and are not restarted.
	for _, n := range names {
		e.waitNoRunningContainers(n, 20*time.Second)
	}
	time.Sleep(2 * time.Second)
	for _, n := range names {
		e.waitNoRunningContainers(n, time.Second)
	}
	if !strings.Contains(strings.Join(e.events("be-low"), ","), "Evicted") {
		t.Errorf("be-low events = %v, want Evicted", e.events("be-low"))
	}
}

// evictionOrder polls the pods until each is Failed and returns the order
// in which they failed; two failing between polls is an error.
func (e *env) evictionOrder(names []string, timeout time.Duration) []string {
	e.t.Helper()
	var order []string
	failed := map[string]bool{}
	deadline := time.Now().Add(timeout)
	for len(order) < len(names) && time.Now().Before(deadline) {
		var now []string
		for _, n := range names {
			p, err := e.client.CoreV1().Pods("default").Get(context.Background(), n, metav1.GetOptions{})
			if err == nil && p.Status.Phase == corev1.PodFailed && !failed[n] {
				now = append(now, n)
			}
		}
		if len(now) > 1 {
			e.t.Fatalf("pods %v evicted in one period", now)
		}
		for _, n := range now {
			failed[n], order = true, append(order, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return order
}

func podCondition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func (e *env) waitNodeCondition(ct corev1.NodeConditionType, want corev1.ConditionStatus, timeout time.Duration) *corev1.Node {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		node, err := e.client.CoreV1().Nodes().Get(context.Background(), e.cfg.NodeName, metav1.GetOptions{})
		if err == nil {
			for _, c := range node.Status.Conditions {
				if c.Type == ct && c.Status == want {
					return node
				}
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("node condition %s never became %s", ct, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitNoRunningContainers waits until the runtime runs no container of the pod.
func (e *env) waitNoRunningContainers(name string, timeout time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := e.cfg.Runtime.ListContainers(context.Background(), &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
			State:         &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING},
			LabelSelector: map[string]string{labelPodName: name}}})
		if err == nil && len(resp.Containers) == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("pod %s still has running containers: %v", name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestEvictionUnderDiskPressure: with an image filesystem threshold this
// machine always meets, the node reports DiskPressure, unused images are
// reclaimed first (the image a pod uses is kept), and then the pod is
// evicted for ephemeral-storage.
func TestEvictionUnderDiskPressure(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.EvictionHard = []Threshold{} })
	e.create(e.pod("disk-user", "sleep 3600"))
	e.waitPod("disk-user", 60*time.Second, "Running", running)
	unused := strings.Replace(e.image, "busybox:1.36", "reclaimable:1", 1)
	testimage.Push(t, unused, testimage.Busybox(t, testimage.Layer(t, []testimage.File{{Name: "marker", Body: "reclaimable"}})))
	if _, err := e.cfg.Images.PullImage(context.Background(), &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: unused}}); err != nil {
		t.Fatal(err)
	}
	e.stop()
	e.cfg.EvictionHard, _ = ParseThresholds("imagefs.available<1000Ti")
	e.cfg.EvictionMonitoringPeriod, e.cfg.ImageMinimumGCAge = time.Second, time.Nanosecond
	e.cfg.ImageGCHighThresholdPercent, e.cfg.ImageGCLowThresholdPercent = 100, 80 // only eviction reclaims
	e.startKubelet()

	p := e.waitPod("disk-user", 30*time.Second, "evicted", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if p.Status.Reason != "Evicted" || !strings.Contains(p.Status.Message, "low on resource: ephemeral-storage") {
		t.Errorf("evicted pod status: reason %q message %q", p.Status.Reason, p.Status.Message)
	}
	e.waitNodeCondition(corev1.NodeDiskPressure, corev1.ConditionTrue, 10*time.Second)
	if e.imagePresent(unused) {
		t.Error("the unused image was not reclaimed before evicting")
	}
	if !e.imagePresent(e.image) {
		t.Error("the image of the pod's containers was reclaimed")
	}
	e.waitNoRunningContainers("disk-user", 20*time.Second)
}
