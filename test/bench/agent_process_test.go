package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/runtime/cgroups"
	"github.com/klite/klite/internal/runtime/testimage"
	"github.com/klite/klite/internal/runtime/testnetns"
)

// Process names (argv[0]) of the runtime's per-pod helpers, children of the agent.
const (
	pauseArgv0 = "klite-pause"
	shimArgv0  = "klite-shim"
)

// agentProcess is a running `klite agent` joined to a serverProcess: a real node with klite's
// in-process runtime, its bridge and nftables rules in a private network namespace, its pods
// under a private cgroup root.
type agentProcess struct {
	cmd        *exec.Cmd
	log        *bytes.Buffer
	exited     chan error
	node       string
	dataDir    string
	cgroupRoot string
}

// requireAgentHost skips unless the machine can run real containers: root and busybox-static.
func requireAgentHost(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("skipping: the agent runs real containers (namespaces, cgroups, overlayfs) and needs root")
	}
	testimage.RequireBusybox(tb)
}

// startAgent runs `klite agent` (bin) against s as node and waits until its Node is Ready. The
// agent is stopped when tb ends, after the cleanups registered later (the pods') have run; a pod
// helper it leaves running is killed and reported.
func startAgent(tb testing.TB, bin string, s *serverProcess, node string) *agentProcess {
	tb.Helper()
	dir := tb.TempDir()
	cniDir := filepath.Join(dir, "cni") // empty: klite's own bridge, whatever /etc/cni/net.d holds
	if err := os.Mkdir(cniDir, 0o755); err != nil {
		tb.Fatal(err)
	}
	a := &agentProcess{log: &bytes.Buffer{}, exited: make(chan error, 1), node: node,
		dataDir: filepath.Join(dir, "data"), cgroupRoot: fmt.Sprintf("/klite-bench-%d", os.Getpid())}
	netns := testnetns.New(tb)
	a.cmd = exec.Command(bin, "agent", "--server", s.url,
		"--token-file", filepath.Join(s.dataDir, "server", "node-token"),
		"--ca-file", filepath.Join(s.dataDir, "server", "tls", "ca.crt"),
		"--hostname-override", node, "--data-dir", a.dataDir, "--node-ip", "127.0.0.1",
		"--address", "127.0.0.1", "--port", freePort(tb), "--runc-root", filepath.Join(dir, "runc"),
		"--bridge", "kbench0", "--pod-cidr", "10.82.0.0/24", "--cgroup-root", a.cgroupRoot,
		"--cni-conf-dir", cniDir, "--host-netns", netns, "--nftable", "klite_bench",
		// far below upstream's defaults: a shared disk near imagefs.available<15% would evict
		"--eviction-hard", "memory.available<1Mi,nodefs.available<1%,imagefs.available<1%")
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	if err := a.cmd.Start(); err != nil {
		tb.Fatalf("start klite agent: %v", err)
	}
	go func() { a.exited <- a.cmd.Wait() }()
	tb.Cleanup(func() { a.stop(tb) })
	a.waitNodeReady(tb, s)
	return a
}

// waitNodeReady waits until the agent's Node reports Ready.
func (a *agentProcess) waitNodeReady(tb testing.TB, s *serverProcess) {
	tb.Helper()
	poll(tb, 90*time.Second, "node "+a.node+" Ready", func() (bool, string) {
		select {
		case err := <-a.exited:
			a.exited <- err
			tb.Fatalf("klite agent exited: %v\n%s", err, a.log)
		default:
		}
		n, err := s.client.CoreV1().Nodes().Get(context.Background(), a.node, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status == corev1.ConditionTrue, "Ready=" + string(c.Status)
			}
		}
		return false, "no Ready condition"
	})
}

// stop ends the agent (SIGTERM, then SIGKILL), kills pod helpers it left running, and checks
// that nothing is left mounted under its data dir before removing its cgroup root.
func (a *agentProcess) stop(tb testing.TB) {
	left := a.helpers()
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-a.exited:
		a.exited <- err
	case <-time.After(30 * time.Second):
		_ = a.cmd.Process.Kill()
		a.exited <- <-a.exited
		tb.Errorf("klite agent did not stop on SIGTERM")
	}
	for _, h := range left {
		tb.Errorf("%s (pid %d) still running when the agent stopped: killing it", h.argv0, h.pid)
		_ = syscall.Kill(h.pid, syscall.SIGKILL)
	}
	if mounts := mountsUnder(a.dataDir); len(mounts) > 0 {
		tb.Errorf("mounts left under the agent's data dir: %v", mounts)
		for i := len(mounts) - 1; i >= 0; i-- {
			_ = syscall.Unmount(mounts[i], syscall.MNT_DETACH)
		}
	}
	if m, err := cgroups.Detect(); err == nil && len(left) == 0 {
		if err := m.Remove(a.cgroupRoot); err != nil {
			tb.Errorf("remove cgroup root %s: %v", a.cgroupRoot, err)
		}
	}
	if tb.Failed() {
		tb.Logf("agent log:\n%s", tail(a.log.String(), 8000))
	}
}

// pid is the agent process's.
func (a *agentProcess) pid() int { return a.cmd.Process.Pid }

// helper is one of the agent's pause or shim processes.
type helper struct {
	pid   int
	argv0 string
}

// helpers lists the agent's children that are pause processes or shims.
func (a *agentProcess) helpers() []helper {
	var out []helper
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || parentPid(pid) != a.pid() {
			continue
		}
		if argv0 := processArgv0(pid); argv0 == pauseArgv0 || argv0 == shimArgv0 {
			out = append(out, helper{pid: pid, argv0: argv0})
		}
	}
	return out
}

// parentPid is the parent of pid (field 4 of /proc/<pid>/stat), or 0.
func parentPid(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) is parenthesised and may hold spaces: read after the last ')'.
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}

// processArgv0 is the first word of /proc/<pid>/cmdline.
func processArgv0(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	argv0, _, _ := bytes.Cut(b, []byte{0})
	return string(argv0)
}

// procMemory is a process's resident set (VmRSS), its anonymous part (RssAnon: heap, stacks;
// the rest is mostly the klite binary's pages, shared with every klite process) and its
// proportional set (Pss of smaps_rollup: each shared page divided among the processes mapping
// it), in MB.
type procMemory struct {
	rssMB, anonMB, pssMB float64
}

// readProcMemory reads pid's memory; ok is false when the process is gone.
func readProcMemory(pid int) (m procMemory, ok bool) {
	status := fmt.Sprintf("/proc/%d/status", pid)
	m.rssMB, ok = procKBField(status, "VmRSS:")
	if !ok {
		return m, false
	}
	m.anonMB, _ = procKBField(status, "RssAnon:")
	m.pssMB, ok = procKBField(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss:")
	return m, ok
}

// procKBField reads a "Name: N kB" line of a /proc file, in MB.
func procKBField(path, name string) (float64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == name && f[2] == "kB" {
			kb, err := strconv.ParseFloat(f[1], 64)
			return kb / 1024, err == nil
		}
	}
	return 0, false
}

// mountsUnder lists mount points under dir, outermost first.
func mountsUnder(dir string) []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			out = append(out, f[4])
		}
	}
	return out
}

// poll calls cond every 250 ms until it holds, failing tb with cond's last message after timeout.
func poll(tb testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not after %s: %s", what, timeout, msg)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
