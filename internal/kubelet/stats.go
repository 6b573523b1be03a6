package kubelet

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// Summary is the kubelet's stats/summary: the node's cpu, memory,
// filesystems and the runtime's image filesystem from /proc and statfs,
// and each running pod's (and its containers') usage from the CRI's
// ListPodSandboxStats. usageNanoCores is the rate since the previous
// Summary (the eviction loop samples every HousekeepingPeriod), absent on
// the first sample of a pod or container.
func (k *Kubelet) Summary(ctx context.Context) (*statsapi.Summary, error) {
	now := time.Now()
	node, err := k.nodeStatsNow(ctx, now)
	if err != nil {
		return nil, err
	}
	resp, err := k.runtime.ListPodSandboxStats(ctx, &runtimeapi.ListPodSandboxStatsRequest{})
	if err != nil {
		return nil, err
	}
	snap, _ := k.cache.get(ctx, time.Time{})
	sum := &statsapi.Summary{Node: node, Pods: []statsapi.PodStats{}}
	for _, sb := range resp.Stats {
		sum.Pods = append(sum.Pods, k.podStats(sb, snap))
	}
	k.rates.commit()
	return sum, nil
}

// nodeStatsNow reads the machine's usage.
func (k *Kubelet) nodeStatsNow(ctx context.Context, now time.Time) (statsapi.NodeStats, error) {
	t := metav1.NewTime(now)
	ns := statsapi.NodeStats{NodeName: k.cfg.NodeName, StartTime: metav1.NewTime(k.started)}
	if total, err := procCPUNanos(); err == nil {
		ns.CPU = k.rates.cpu("node", now, total)
	}
	if mi, err := readMeminfo(); err == nil {
		ns.Memory = nodeMemory(mi, t)
	}
	ns.Fs = statfsStats(existingParent(k.cfg.RootDir), t)
	imageFs, err := k.imageFsStats(ctx, t)
	if err != nil {
		return ns, err
	}
	ns.Runtime = &statsapi.RuntimeStats{ImageFs: imageFs, ContainerFs: imageFs}
	ns.Rlimit = rlimitStats(t)
	return ns, nil
}

// imageFsStats is the image filesystem: the runtime's used bytes, and the
// capacity and free space of the filesystem holding it.
func (k *Kubelet) imageFsStats(ctx context.Context, t metav1.Time) (*statsapi.FsStats, error) {
	resp, err := k.images.ImageFsInfo(ctx, &runtimeapi.ImageFsInfoRequest{})
	if err != nil {
		return nil, err
	}
	if len(resp.ImageFilesystems) == 0 {
		return statfsStats(existingParent(k.cfg.RootDir), t), nil
	}
	u := resp.ImageFilesystems[0]
	fs := statfsStats(existingParent(u.GetFsId().GetMountpoint()), t)
	if v := u.GetUsedBytes(); v != nil {
		fs.UsedBytes = ptrTo(v.Value)
	}
	if v := u.GetInodesUsed(); v != nil {
		fs.InodesUsed = ptrTo(v.Value)
	}
	return fs, nil
}

// podStats converts one sandbox's CRI stats.
func (k *Kubelet) podStats(sb *runtimeapi.PodSandboxStats, snap *snapshot) statsapi.PodStats {
	attr := sb.GetAttributes()
	uid := attr.GetLabels()[labelPodUID]
	ps := statsapi.PodStats{PodRef: statsapi.PodReference{Name: attr.GetMetadata().GetName(),
		Namespace: attr.GetMetadata().GetNamespace(), UID: uid}, Containers: []statsapi.ContainerStats{}}
	if p := k.podOf(ps.PodRef); p != nil && p.Status.StartTime != nil {
		ps.StartTime = *p.Status.StartTime
	}
	linux := sb.GetLinux()
	ps.CPU = k.criCPU("pod/"+uid, linux.GetCpu())
	ps.Memory = criMemory(linux.GetMemory())
	if n := linux.GetProcess().GetProcessCount(); n != nil {
		ps.ProcessStats = &statsapi.ProcessStats{ProcessCount: ptrTo(n.Value)}
	}
	var ephemeral uint64
	for _, c := range linux.GetContainers() {
		cs := k.containerStats(c, snap, types.UID(uid))
		if cs.Rootfs != nil && cs.Rootfs.UsedBytes != nil {
			ephemeral += *cs.Rootfs.UsedBytes
		}
		if cs.Logs != nil && cs.Logs.UsedBytes != nil {
			ephemeral += *cs.Logs.UsedBytes
		}
		ps.Containers = append(ps.Containers, cs)
	}
	ps.EphemeralStorage = &statsapi.FsStats{Time: metav1.Now(), UsedBytes: ptrTo(ephemeral)}
	return ps
}

// containerStats converts one container's CRI stats; its start time and
// log size come from the runtime snapshot.
func (k *Kubelet) containerStats(c *runtimeapi.ContainerStats, snap *snapshot, uid types.UID) statsapi.ContainerStats {
	attr := c.GetAttributes()
	cs := statsapi.ContainerStats{Name: attr.GetMetadata().GetName(),
		CPU: k.criCPU("ctr/"+attr.GetId(), c.GetCpu()), Memory: criMemory(c.GetMemory())}
	if wl := c.GetWritableLayer(); wl != nil {
		cs.Rootfs = &statsapi.FsStats{Time: metav1.NewTime(time.Unix(0, wl.Timestamp))}
		if v := wl.GetUsedBytes(); v != nil {
			cs.Rootfs.UsedBytes = ptrTo(v.Value)
		}
		if v := wl.GetInodesUsed(); v != nil {
			cs.Rootfs.InodesUsed = ptrTo(v.Value)
		}
	}
	if snap == nil {
		return cs
	}
	for _, st := range snap.containers[uid] {
		if st.Id != attr.GetId() {
			continue
		}
		cs.StartTime = metav1.NewTime(time.Unix(0, st.StartedAt))
		if fi, err := os.Stat(st.LogPath); err == nil {
			cs.Logs = &statsapi.FsStats{Time: metav1.Now(), UsedBytes: ptrTo(uint64(fi.Size()))}
		}
	}
	return cs
}

// podOf finds the API or static pod a stats entry belongs to.
func (k *Kubelet) podOf(ref statsapi.PodReference) *corev1.Pod {
	if p := k.findPod(ref.Namespace, ref.Name); p != nil && string(p.UID) == ref.UID {
		return p
	}
	return nil
}

// criCPU converts CRI cpu usage, adding the rate since the last sample.
func (k *Kubelet) criCPU(key string, u *runtimeapi.CpuUsage) *statsapi.CPUStats {
	if u == nil || u.GetUsageCoreNanoSeconds() == nil {
		return nil
	}
	return k.rates.cpu(key, time.Unix(0, u.Timestamp), u.GetUsageCoreNanoSeconds().Value)
}

func criMemory(m *runtimeapi.MemoryUsage) *statsapi.MemoryStats {
	if m == nil {
		return nil
	}
	out := &statsapi.MemoryStats{Time: metav1.NewTime(time.Unix(0, m.Timestamp))}
	for _, f := range []struct {
		v   *runtimeapi.UInt64Value
		dst **uint64
	}{{m.WorkingSetBytes, &out.WorkingSetBytes}, {m.UsageBytes, &out.UsageBytes}, {m.RssBytes, &out.RSSBytes},
		{m.AvailableBytes, &out.AvailableBytes}, {m.PageFaults, &out.PageFaults}, {m.MajorPageFaults, &out.MajorPageFaults}} {
		if f.v != nil {
			*f.dst = ptrTo(f.v.Value)
		}
	}
	return out
}

// cpuRates remembers the previous cumulative cpu sample of the node, each
// pod and each container, to report usageNanoCores.
type cpuRates struct {
	mu   sync.Mutex
	prev map[string]cpuSample
	next map[string]cpuSample
}

type cpuSample struct {
	at    time.Time
	total uint64
}

// cpu returns the stats for one cumulative sample, with the rate against
// the previous one when there is a previous one.
func (r *cpuRates) cpu(key string, at time.Time, total uint64) *statsapi.CPUStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := &statsapi.CPUStats{Time: metav1.NewTime(at), UsageCoreNanoSeconds: ptrTo(total)}
	if p, ok := r.prev[key]; ok && at.After(p.at) && total >= p.total {
		out.UsageNanoCores = ptrTo(uint64(float64(total-p.total) / at.Sub(p.at).Seconds()))
	}
	if r.next == nil {
		r.next = map[string]cpuSample{}
	}
	r.next[key] = cpuSample{at: at, total: total}
	return out
}

// commit makes this round's samples the previous ones, forgetting what
// went away; a baseline younger than a second is kept, so rates span at
// least a second.
func (r *cpuRates) commit() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for key, s := range r.next {
		if p, ok := r.prev[key]; ok && s.at.Sub(p.at) < time.Second {
			r.next[key] = p
		}
	}
	r.prev, r.next = r.next, nil
}

func (s *server) summary(w http.ResponseWriter, r *http.Request) {
	sum, err := s.k.Summary(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(sum)
}
