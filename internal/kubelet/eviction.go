package kubelet

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// Signal is an eviction signal, named as upstream's --eviction-hard.
type Signal string

// The eviction signals klite observes.
const (
	SignalMemoryAvailable   Signal = "memory.available"
	SignalNodeFsAvailable   Signal = "nodefs.available"
	SignalNodeFsInodesFree  Signal = "nodefs.inodesFree"
	SignalImageFsAvailable  Signal = "imagefs.available"
	SignalImageFsInodesFree Signal = "imagefs.inodesFree"
	SignalPIDAvailable      Signal = "pid.available"
)

// DefaultEvictionHard is upstream's default --eviction-hard.
const DefaultEvictionHard = "memory.available<100Mi,nodefs.available<10%,imagefs.available<15%,nodefs.inodesFree<5%"

// resourceInodes and resourcePIDs name the starved resource in messages.
const (
	resourceInodes corev1.ResourceName = "inodes"
	resourcePIDs   corev1.ResourceName = "pids"
)

// Threshold is one hard eviction threshold: the signal's available amount
// below Quantity, or below Percentage (0..1) of its capacity.
type Threshold struct {
	Signal     Signal
	Quantity   *resource.Quantity
	Percentage float64
}

// String renders the threshold in flag syntax.
func (t Threshold) String() string {
	if t.Quantity != nil {
		return string(t.Signal) + "<" + t.Quantity.String()
	}
	return string(t.Signal) + "<" + strconv.FormatFloat(t.Percentage*100, 'f', -1, 64) + "%"
}

// ParseThresholds parses --eviction-hard: "signal<quantity|percent%,...".
// "" gives no thresholds.
func ParseThresholds(s string) ([]Threshold, error) {
	var out []Threshold
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		t, err := parseThreshold(part)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func parseThreshold(s string) (Threshold, error) {
	sig, val, ok := strings.Cut(s, "<")
	if !ok {
		return Threshold{}, fmt.Errorf("eviction threshold %q: want signal<value", s)
	}
	t := Threshold{Signal: Signal(strings.TrimSpace(sig))}
	if _, ok := signalResource(t.Signal); !ok {
		return Threshold{}, fmt.Errorf("eviction threshold %q: unknown signal %q", s, sig)
	}
	val = strings.TrimSpace(val)
	if p, ok := strings.CutSuffix(val, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || f <= 0 || f > 100 {
			return Threshold{}, fmt.Errorf("eviction threshold %q: percentage must be in (0, 100]", s)
		}
		t.Percentage = f / 100
		return t, nil
	}
	q, err := resource.ParseQuantity(val)
	if err != nil {
		return Threshold{}, fmt.Errorf("eviction threshold %q: %w", s, err)
	}
	if q.Sign() < 0 {
		return Threshold{}, fmt.Errorf("eviction threshold %q: must not be negative", s)
	}
	t.Quantity = &q
	return t, nil
}

// signalResource is the resource a signal measures.
func signalResource(s Signal) (corev1.ResourceName, bool) {
	switch s {
	case SignalMemoryAvailable:
		return corev1.ResourceMemory, true
	case SignalNodeFsAvailable, SignalImageFsAvailable:
		return corev1.ResourceEphemeralStorage, true
	case SignalNodeFsInodesFree, SignalImageFsInodesFree:
		return resourceInodes, true
	case SignalPIDAvailable:
		return resourcePIDs, true
	}
	return "", false
}

// signalCondition is the node condition a signal's pressure sets.
func signalCondition(s Signal) corev1.NodeConditionType {
	switch s {
	case SignalMemoryAvailable:
		return corev1.NodeMemoryPressure
	case SignalPIDAvailable:
		return corev1.NodePIDPressure
	}
	return corev1.NodeDiskPressure
}

// diskSignal reports whether reclaiming images may relieve the signal.
func diskSignal(s Signal) bool { return signalCondition(s) == corev1.NodeDiskPressure }

// observation is a signal's available amount and its capacity.
type observation struct{ available, capacity int64 }

// observe reads every signal from a summary.
func observe(sum *statsapi.Summary) map[Signal]observation {
	obs := map[Signal]observation{}
	n := sum.Node
	if m := n.Memory; m != nil && m.AvailableBytes != nil && m.WorkingSetBytes != nil {
		obs[SignalMemoryAvailable] = observation{int64(*m.AvailableBytes), int64(*m.AvailableBytes + *m.WorkingSetBytes)}
	}
	addFs(obs, n.Fs, SignalNodeFsAvailable, SignalNodeFsInodesFree)
	if n.Runtime != nil {
		addFs(obs, n.Runtime.ImageFs, SignalImageFsAvailable, SignalImageFsInodesFree)
	}
	if r := n.Rlimit; r != nil && r.MaxPID != nil && r.NumOfRunningProcesses != nil {
		obs[SignalPIDAvailable] = observation{*r.MaxPID - *r.NumOfRunningProcesses, *r.MaxPID}
	}
	return obs
}

func addFs(obs map[Signal]observation, fs *statsapi.FsStats, bytes, inodes Signal) {
	if fs == nil {
		return
	}
	if fs.AvailableBytes != nil && fs.CapacityBytes != nil {
		obs[bytes] = observation{int64(*fs.AvailableBytes), int64(*fs.CapacityBytes)}
	}
	if fs.InodesFree != nil && fs.Inodes != nil {
		obs[inodes] = observation{int64(*fs.InodesFree), int64(*fs.Inodes)}
	}
}

// value is the threshold's amount for a capacity.
func (t Threshold) value(capacity int64) int64 {
	if t.Quantity != nil {
		return t.Quantity.Value()
	}
	return int64(t.Percentage * float64(capacity))
}

// metThresholds are the thresholds whose signal is below them.
func metThresholds(ts []Threshold, obs map[Signal]observation) []Threshold {
	var out []Threshold
	for _, t := range ts {
		if o, ok := obs[t.Signal]; ok && o.available < t.value(o.capacity) {
			out = append(out, t)
		}
	}
	return out
}

// candidate is a pod that may be evicted, with its usage.
type candidate struct {
	pod   *corev1.Pod
	stats statsapi.PodStats
}

// rankForEviction orders candidates for a starved resource as upstream
// does: pods whose usage exceeds their requests first (BestEffort pods
// request nothing), then lower priority, then larger usage above requests.
func rankForEviction(cands []candidate, res corev1.ResourceName) {
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		ua, ub := podUsage(a.stats, res), podUsage(b.stats, res)
		ra, rb := podRequest(a.pod, res), podRequest(b.pod, res)
		if ea, eb := ua > ra, ub > rb; ea != eb {
			return ea
		}
		if pa, pb := podPriority(a.pod), podPriority(b.pod); pa != pb {
			return pa < pb
		}
		return ua-ra > ub-rb
	})
}

// podUsage is the pod's usage of a resource from its stats.
func podUsage(ps statsapi.PodStats, res corev1.ResourceName) int64 {
	switch res {
	case corev1.ResourceMemory:
		if ps.Memory != nil && ps.Memory.WorkingSetBytes != nil {
			return int64(*ps.Memory.WorkingSetBytes)
		}
	case corev1.ResourceEphemeralStorage:
		if ps.EphemeralStorage != nil && ps.EphemeralStorage.UsedBytes != nil {
			return int64(*ps.EphemeralStorage.UsedBytes)
		}
	case resourceInodes:
		var n int64
		for _, c := range ps.Containers {
			if c.Rootfs != nil && c.Rootfs.InodesUsed != nil {
				n += int64(*c.Rootfs.InodesUsed)
			}
		}
		return n
	case resourcePIDs:
		if ps.ProcessStats != nil && ps.ProcessStats.ProcessCount != nil {
			return int64(*ps.ProcessStats.ProcessCount)
		}
	}
	return 0
}

// podRequest is the pod's request of a resource: the containers' sum, or
// the largest init container's when that is more.
func podRequest(pod *corev1.Pod, res corev1.ResourceName) int64 {
	var sum, initMax int64
	for _, c := range pod.Spec.Containers {
		if q, ok := c.Resources.Requests[res]; ok {
			sum += q.Value()
		}
	}
	for _, c := range pod.Spec.InitContainers {
		if q, ok := c.Resources.Requests[res]; ok {
			initMax = max(initMax, q.Value())
		}
	}
	return max(sum, initMax)
}

func podPriority(pod *corev1.Pod) int32 {
	if pod.Spec.Priority != nil {
		return *pod.Spec.Priority
	}
	return 0
}

// evictionMessage says why a pod is evicted, as upstream words it.
func evictionMessage(t Threshold, o observation, c candidate, res corev1.ResourceName) string {
	var b strings.Builder
	fmt.Fprintf(&b, "The node was low on resource: %s. Threshold quantity: %s, available: %s. ",
		res, quantity(t.value(o.capacity), res), quantity(o.available, res))
	for _, cs := range c.stats.Containers {
		use := containerUsage(cs, res)
		var req int64
		if sc := specContainer(c.pod, cs.Name); sc != nil {
			if q, ok := sc.Resources.Requests[res]; ok {
				req = q.Value()
			}
		}
		if use > req {
			fmt.Fprintf(&b, "Container %s was using %s, request is %s, has larger consumption of %s. ",
				cs.Name, quantity(use, res), quantity(req, res), res)
		}
	}
	return b.String()
}

func containerUsage(cs statsapi.ContainerStats, res corev1.ResourceName) int64 {
	switch res {
	case corev1.ResourceMemory:
		if cs.Memory != nil && cs.Memory.WorkingSetBytes != nil {
			return int64(*cs.Memory.WorkingSetBytes)
		}
	case corev1.ResourceEphemeralStorage:
		var n int64
		if cs.Rootfs != nil && cs.Rootfs.UsedBytes != nil {
			n += int64(*cs.Rootfs.UsedBytes)
		}
		if cs.Logs != nil && cs.Logs.UsedBytes != nil {
			n += int64(*cs.Logs.UsedBytes)
		}
		return n
	}
	return 0
}

func quantity(v int64, res corev1.ResourceName) string {
	if res == corev1.ResourceMemory || res == corev1.ResourceEphemeralStorage {
		return resource.NewQuantity(v, resource.BinarySI).String()
	}
	return strconv.FormatInt(v, 10)
}
