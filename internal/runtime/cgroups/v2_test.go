package cgroups

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const (
	mountinfoV1 = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
`
	mountinfoHybrid = mountinfoV1 + `41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
	mountinfoV2 = `25 23 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`
)

func TestParseMountinfo(t *testing.T) {
	for _, tc := range []struct {
		name, mountinfo string
		v2              bool
		memory, unified string
		err             bool
	}{
		{name: "v1", mountinfo: mountinfoV1, memory: "/sys/fs/cgroup/memory/p"},
		{name: "hybrid", mountinfo: mountinfoHybrid, memory: "/sys/fs/cgroup/memory/p", unified: "/sys/fs/cgroup/unified"},
		{name: "unified", mountinfo: mountinfoV2, v2: true, memory: "/sys/fs/cgroup/p"},
		{name: "none", mountinfo: "22 1 0:21 / /proc rw - proc proc rw\n", err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := parseMountinfo(tc.mountinfo)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if m.V2() != tc.v2 || m.dir("memory", "/p") != tc.memory || m.unified != tc.unified {
				t.Errorf("v2 %v, memory dir %s, unified %q; want %v %s %q", m.V2(), m.dir("memory", "/p"), m.unified, tc.v2, tc.memory, tc.unified)
			}
			if tc.name == "v1" && m.dir("cpuacct", "/p") != "/sys/fs/cgroup/cpu,cpuacct/p" {
				t.Errorf("cpuacct dir %s", m.dir("cpuacct", "/p"))
			}
		})
	}
}

// fakeUnified lays out a directory as a cgroup2 hierarchy shows it: this
// machine runs cgroup v1 with every controller bound there, so a real
// cgroup2 mount has no memory, cpu or pids files. The fake stands in for
// limits and stats of a v2 machine; TestUnifiedMount covers what the real
// (controller-less) hierarchy can.
func fakeUnified(t *testing.T, pod string, files map[string]string) (*Manager, string) {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, pod)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return AtUnified(root), dir
}

func TestUnifiedLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Resources
		want map[string]string
	}{
		{name: "memory and pids", r: Resources{MemoryLimit: 64 << 20, PidsLimit: 100},
			want: map[string]string{"memory.max": "67108864", "pids.max": "100"}},
		{name: "quota with period", r: Resources{CPUQuota: 50000, CPUPeriod: 200000},
			want: map[string]string{"cpu.max": "50000 200000"}},
		{name: "quota with the default period", r: Resources{CPUQuota: 25000},
			want: map[string]string{"cpu.max": "25000 100000"}},
		{name: "shares become weight", r: Resources{CPUShares: 1024},
			want: map[string]string{"cpu.weight": "39"}},
		{name: "minimum shares", r: Resources{CPUShares: 2}, want: map[string]string{"cpu.weight": "1"}},
		{name: "maximum shares", r: Resources{CPUShares: 262144}, want: map[string]string{"cpu.weight": "10000"}},
		{name: "unlimited writes nothing", r: Resources{}, want: map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, dir := fakeUnified(t, "klite/burstable/pod1", nil)
			if err := m.Set("/klite/burstable/pod1", tc.r); err != nil {
				t.Fatal(err)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != len(tc.want) {
				t.Errorf("wrote %d files, want %d", len(entries), len(tc.want))
			}
			for f, want := range tc.want {
				b, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil || string(b) != want {
					t.Errorf("%s = %q, %v; want %q", f, b, err, want)
				}
			}
		})
	}
}

func TestUnifiedStats(t *testing.T) {
	m, _ := fakeUnified(t, "klite/pod1", map[string]string{
		"cpu.stat":       "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 0\n",
		"memory.current": "10485760\n",
		"memory.stat":    "anon 4096\nfile 8192\ninactive_file 2097152\nactive_file 0\n",
		"memory.events":  "low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\noom_group_kill 0\n",
		"pids.current":   "3\n",
	})
	st, err := m.Stats("/klite/pod1")
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{CPUUsageNanos: 1500000, MemoryUsage: 10 << 20, MemoryWorkingSet: 8 << 20, Pids: 3, OOMKills: 1}
	if st != want {
		t.Errorf("Stats = %+v, want %+v", st, want)
	}
	if n := m.OOMKills("/klite/pod1"); n != 1 {
		t.Errorf("OOMKills = %d, want 1 (memory.events oom_kill)", n)
	}
}

func TestUnifiedCreateDelegatesControllers(t *testing.T) {
	m, _ := fakeUnified(t, "", nil)
	root := m.mounts[""]
	if err := m.Create("/klite/besteffort/pod2"); err != nil {
		t.Fatal(err)
	}
	// Each ancestor enables the controllers for its children (the fake
	// keeps the last write; the kernel accumulates them).
	for _, d := range []string{"", "klite", "klite/besteffort"} {
		b, err := os.ReadFile(filepath.Join(root, d, "cgroup.subtree_control"))
		if err != nil || !strings.HasPrefix(string(b), "+") {
			t.Errorf("%s/cgroup.subtree_control = %q, %v", d, b, err)
		}
	}
	if !m.Exists("/klite/besteffort/pod2") {
		t.Error("pod cgroup not created")
	}
}

// TestUnifiedMount runs the Manager on a real cgroup2 hierarchy mounted at
// a temporary directory. On this cgroup v1 machine it has no controllers,
// so it shows creation, membership and removal, not limits.
func TestUnifiedMount(t *testing.T) {
	mnt := t.TempDir()
	if err := unix.Mount("none", mnt, "cgroup2", 0, ""); err != nil {
		if os.Geteuid() != 0 {
			t.Skipf("skipping: mounting cgroup2 needs root: %v", err)
		}
		t.Fatalf("mount cgroup2: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	m := AtUnified(mnt)
	parent := fmt.Sprintf("/klite-v2-test-%d", os.Getpid())
	leaf := parent + "/burstable/pod1/pause"
	if err := m.Create(leaf); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	if err := m.AddProcess(leaf, cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	procs, err := m.Procs(parent)
	if err != nil || len(procs) != 1 || procs[0] != cmd.Process.Pid {
		t.Fatalf("Procs = %v, %v; want [%d]", procs, err, cmd.Process.Pid)
	}
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", cmd.Process.Pid))
	if !strings.Contains(string(b), "0::"+leaf+"\n") {
		t.Errorf("/proc/pid/cgroup lacks the v2 path %s:\n%s", leaf, b)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if err := m.Remove(parent); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(mnt, parent)); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", parent, err)
	}
}
