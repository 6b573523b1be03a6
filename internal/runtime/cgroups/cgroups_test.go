package cgroups

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newManager(t *testing.T) (*Manager, string) {
	t.Helper()
	m, err := Detect()
	if err != nil {
		t.Skipf("skipping: no cgroups: %v", err)
	}
	parent := fmt.Sprintf("/klite-test-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "_"))
	t.Cleanup(func() {
		if err := m.Remove(parent); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return m, parent
}

func TestCreateAddStatsRemove(t *testing.T) {
	m, parent := newManager(t)
	pod := parent + "/burstable/pod1"
	if err := m.Create(pod); err != nil {
		t.Fatal(err)
	}
	if err := m.Set(pod, Resources{MemoryLimit: 64 << 20, CPUShares: 512, CPUQuota: 50000, CPUPeriod: 100000, PidsLimit: 100}); err != nil {
		t.Fatal(err)
	}
	// The shell forks after joining, so the cgroup is charged memory and CPU.
	cmd := exec.Command("sh", "-c", "read x; while :; do /bin/true; done")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	if err := m.AddProcess(pod, cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	time.Sleep(200 * time.Millisecond)
	procs, err := m.Procs(pod)
	if err != nil || len(procs) == 0 || procs[0] != cmd.Process.Pid {
		t.Fatalf("Procs = %v, %v", procs, err)
	}
	st, err := m.Stats(pod)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pids < 1 || st.MemoryUsage == 0 || st.CPUUsageNanos == 0 {
		t.Errorf("Stats = %+v, want pids, memory and CPU use", st)
	}
	for _, d := range m.dirs(pod) {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("hierarchy dir missing: %v", err)
		}
	}
	if !m.V2() {
		b, _ := os.ReadFile(filepath.Join(m.dir("memory", pod), "memory.limit_in_bytes"))
		if strings.TrimSpace(string(b)) != fmt.Sprint(64<<20) {
			t.Errorf("memory limit %s", b)
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if m.unified != "" { // the OCI runtime's container cgroup in the hybrid layout's unified tree
		if err := os.MkdirAll(filepath.Join(m.unified, pod, "ctr1"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Remove(parent); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(m.unified, parent)); m.unified != "" && !os.IsNotExist(err) {
		t.Errorf("%s left in the unified hierarchy", parent)
	}
	for _, d := range m.dirs(parent) {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s left behind", d)
		}
	}
	if m.Exists(pod) {
		t.Error("Exists after Remove")
	}
}

func TestControllersOf(t *testing.T) {
	for in, want := range map[string]string{
		"rw,relatime,cpu": "cpu",
		"rw,nosuid,nodev,noexec,relatime,cpu,cpuacct": "cpu,cpuacct",
		"rw,relatime,name=systemd":                    "name=systemd",
		"rw,relatime,memory,release_agent=/x":         "memory",
	} {
		if got := controllersOf(in); got != want {
			t.Errorf("controllersOf(%s) = %s, want %s", in, got, want)
		}
	}
}
