package cgroups

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Resources are the limits klite sets on a cgroup; zero means unlimited.
type Resources struct {
	MemoryLimit int64 // bytes
	CPUShares   uint64
	CPUQuota    int64 // microseconds per CPUPeriod
	CPUPeriod   uint64
	PidsLimit   int64
}

// Stats is a cgroup's resource usage.
type Stats struct {
	CPUUsageNanos    uint64
	MemoryUsage      uint64
	MemoryWorkingSet uint64 // usage minus inactive file cache
	Pids             uint64
	OOMKills         uint64
}

// Set applies r to path.
func (m *Manager) Set(path string, r Resources) error {
	var writes [][3]string // controller, file, value
	if m.v2 {
		writes = v2Writes(r)
	} else {
		writes = v1Writes(r)
	}
	for _, w := range writes {
		p := filepath.Join(m.dir(w[0], path), w[1])
		if err := os.WriteFile(p, []byte(w[2]), 0o644); err != nil {
			return fmt.Errorf("set %s: %w", p, err)
		}
	}
	return nil
}

func v1Writes(r Resources) [][3]string {
	var w [][3]string
	if r.MemoryLimit > 0 {
		w = append(w, [3]string{"memory", "memory.limit_in_bytes", strconv.FormatInt(r.MemoryLimit, 10)})
	}
	if r.CPUShares > 0 {
		w = append(w, [3]string{"cpu", "cpu.shares", strconv.FormatUint(r.CPUShares, 10)})
	}
	if r.CPUPeriod > 0 {
		w = append(w, [3]string{"cpu", "cpu.cfs_period_us", strconv.FormatUint(r.CPUPeriod, 10)})
	}
	if r.CPUQuota > 0 {
		w = append(w, [3]string{"cpu", "cpu.cfs_quota_us", strconv.FormatInt(r.CPUQuota, 10)})
	}
	if r.PidsLimit > 0 {
		w = append(w, [3]string{"pids", "pids.max", strconv.FormatInt(r.PidsLimit, 10)})
	}
	return w
}

// cpuWeight maps v1 CPU shares (2..262144) onto v2's cpu.weight
// (1..10000) linearly, the conversion runc and the kubelet use.
func cpuWeight(shares uint64) uint64 {
	shares = min(max(shares, 2), 262144)
	return 1 + ((shares-2)*9999)/262142
}

func v2Writes(r Resources) [][3]string {
	var w [][3]string
	if r.MemoryLimit > 0 {
		w = append(w, [3]string{"memory", "memory.max", strconv.FormatInt(r.MemoryLimit, 10)})
	}
	if r.CPUShares > 0 {
		w = append(w, [3]string{"cpu", "cpu.weight", strconv.FormatUint(cpuWeight(r.CPUShares), 10)})
	}
	if r.CPUQuota > 0 {
		period := r.CPUPeriod
		if period == 0 {
			period = 100000
		}
		w = append(w, [3]string{"cpu", "cpu.max", fmt.Sprintf("%d %d", r.CPUQuota, period)})
	}
	if r.PidsLimit > 0 {
		w = append(w, [3]string{"pids", "pids.max", strconv.FormatInt(r.PidsLimit, 10)})
	}
	return w
}

// Stats reads path's usage.
func (m *Manager) Stats(path string) (Stats, error) {
	if m.v2 {
		return m.statsV2(path)
	}
	var s Stats
	mem := m.dir("memory", path)
	var err error
	if s.CPUUsageNanos, err = readUint(filepath.Join(m.dir("cpuacct", path), "cpuacct.usage")); err != nil {
		return s, err
	}
	if s.MemoryUsage, err = readUint(filepath.Join(mem, "memory.usage_in_bytes")); err != nil {
		return s, err
	}
	ms, err := readKeyed(filepath.Join(mem, "memory.stat"))
	if err != nil {
		return s, err
	}
	s.MemoryWorkingSet = sub(s.MemoryUsage, ms["total_inactive_file"])
	oom, _ := readKeyed(filepath.Join(mem, "memory.oom_control"))
	s.OOMKills = oom["oom_kill"]
	s.Pids, _ = readUint(filepath.Join(m.dir("pids", path), "pids.current"))
	return s, nil
}

func (m *Manager) statsV2(path string) (Stats, error) {
	var s Stats
	dir := m.dir("", path)
	cpu, err := readKeyed(filepath.Join(dir, "cpu.stat"))
	if err != nil {
		return s, err
	}
	s.CPUUsageNanos = cpu["usage_usec"] * 1000
	if s.MemoryUsage, err = readUint(filepath.Join(dir, "memory.current")); err != nil {
		return s, err
	}
	ms, _ := readKeyed(filepath.Join(dir, "memory.stat"))
	s.MemoryWorkingSet = sub(s.MemoryUsage, ms["inactive_file"])
	ev, _ := readKeyed(filepath.Join(dir, "memory.events"))
	s.OOMKills = ev["oom_kill"]
	s.Pids, _ = readUint(filepath.Join(dir, "pids.current"))
	return s, nil
}

// OOMKills returns how many processes the kernel's OOM killer killed in path.
func (m *Manager) OOMKills(path string) uint64 {
	if m.v2 {
		ev, _ := readKeyed(filepath.Join(m.dir("", path), "memory.events"))
		return ev["oom_kill"]
	}
	oom, _ := readKeyed(filepath.Join(m.dir("memory", path), "memory.oom_control"))
	return oom["oom_kill"]
}

func sub(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

func readUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// readKeyed parses "key value" lines.
func readKeyed(path string) (map[string]uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
			out[k] = n
		}
	}
	return out, sc.Err()
}
