package kubelet

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// userHz is the kernel's USER_HZ, the unit of /proc/stat (100 on every
// Linux architecture Go supports).
const userHz = 100

// procCPUNanos is the machine's cumulative busy cpu time in nanoseconds
// (all fields of /proc/stat's "cpu" line but idle and iowait; guest time
// is already counted in user).
func procCPUNanos() (uint64, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, errors.New("/proc/stat is empty")
	}
	return parseCPULine(sc.Text())
}

// parseCPULine sums user nice system irq softirq steal of a /proc/stat "cpu" line.
func parseCPULine(line string) (uint64, error) {
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, errors.New("unexpected /proc/stat line: " + line)
	}
	var busy uint64
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, err
		}
		busy += n
	}
	return busy * (1e9 / userHz), nil
}

// readMeminfo reads /proc/meminfo in bytes.
func readMeminfo() (map[string]uint64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return nil, err
	}
	return parseMeminfo(string(b)), nil
}

func parseMeminfo(s string) map[string]uint64 {
	out := map[string]uint64{}
	for _, line := range strings.Split(s, "\n") {
		key, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			continue
		}
		if len(f) > 1 && f[1] == "kB" {
			n *= 1024
		}
		out[key] = n
	}
	return out
}

// nodeMemory follows upstream's node memory signal: usage is what is not
// free, the working set is usage minus inactive file cache, and
// available (memory.available) is capacity minus the working set.
func nodeMemory(mi map[string]uint64, t metav1.Time) *statsapi.MemoryStats {
	total := mi["MemTotal"]
	usage := total - min(total, mi["MemFree"])
	ws := usage - min(usage, mi["Inactive(file)"])
	rss := mi["AnonPages"]
	return &statsapi.MemoryStats{Time: t, UsageBytes: ptrTo(usage), WorkingSetBytes: ptrTo(ws),
		AvailableBytes: ptrTo(total - ws), RSSBytes: ptrTo(rss)}
}

// statfsStats reports the filesystem holding dir.
func statfsStats(dir string, t metav1.Time) *statsapi.FsStats {
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		return &statsapi.FsStats{Time: t}
	}
	bs := uint64(fs.Bsize)
	return &statsapi.FsStats{Time: t, CapacityBytes: ptrTo(fs.Blocks * bs), AvailableBytes: ptrTo(fs.Bavail * bs),
		UsedBytes: ptrTo((fs.Blocks - fs.Bfree) * bs), Inodes: ptrTo(fs.Files), InodesFree: ptrTo(fs.Ffree),
		InodesUsed: ptrTo(fs.Files - fs.Ffree)}
}

// rlimitStats is the pid limit and the number of processes.
func rlimitStats(t metav1.Time) *statsapi.RlimitStats {
	rl := &statsapi.RlimitStats{Time: t}
	if n, err := strconv.ParseInt(readTrim("/proc/sys/kernel/pid_max"), 10, 64); err == nil {
		rl.MaxPID = ptrTo(n)
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		rl.NumOfRunningProcesses = ptrTo(int64(si.Procs))
	}
	return rl
}
