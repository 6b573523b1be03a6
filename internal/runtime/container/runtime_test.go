package container

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klite/klite/internal/runtime/sandbox"
)

// runcBinary is the OCI runtime binary the external-runtime tests use.
const runcBinary = "/usr/sbin/runc"

// requireRunc returns runcBinary, failing in CI and skipping elsewhere
// when it is not installed.
func requireRunc(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(runcBinary); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing (internal/runtime/install-test-deps.sh installs it): %v", runcBinary, err)
		}
		t.Skipf("skipping: %s missing (apt-get install -y runc)", runcBinary)
	}
	return runcBinary
}

// TestRuntimes takes a container through its life with each OCI runtime:
// the built-in libcontainer on a machine without runc (PATH holds none),
// and the runc binary chosen by path.
func TestRuntimes(t *testing.T) {
	for _, tc := range []struct {
		name string
		runc func(t *testing.T) string
	}{
		{"built-in without runc on PATH", func(t *testing.T) string {
			t.Setenv("PATH", t.TempDir())
			if _, err := exec.LookPath("runc"); err == nil {
				t.Fatal("runc still on PATH")
			}
			return ""
		}},
		{"runc binary", requireRunc},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvWith(t, tc.runc(t))
			if _, err := exec.LookPath("runc"); err != nil {
				cfg := e.cfg
				cfg.RuncPath = "runc"
				if _, err := NewManager(cfg); err == nil {
					t.Fatal("a manager asking for runc started without it")
				}
			}
			sb := e.pod(t, sandbox.Config{Name: "rt", Namespace: "default", UID: "u-rt", Hostname: "rt"})
			testRunToCompletion(t, e, sb)
			testExec(t, e, sb)
		})
	}
}

func testRunToCompletion(t *testing.T, e *env, sb *sandbox.Sandbox) {
	c := e.run(t, sb, Config{Name: "once", Seccomp: true,
		Command: []string{"sh", "-c", "echo hello from $(hostname); grep '^Seccomp:' /proc/self/status; exit 7"}})
	got := e.waitExited(t, c.ID, 10*time.Second)
	if got.ExitCode != 7 {
		t.Errorf("exit code %d, want 7", got.ExitCode)
	}
	lines := logLines(t, got.LogPath)
	for _, w := range []string{"stdout hello from rt", "stdout Seccomp:\t2"} {
		if !contains(lines, w) {
			t.Errorf("log lacks %q: %q", w, lines)
		}
	}
	if err := e.containers.Remove(c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.cfg.RuncRoot, c.ID)); !os.IsNotExist(err) {
		t.Error("runtime state left after Remove")
	}
}

// testExec runs processes in a running container under RuntimeDefault
// seccomp: output and exit codes, the filter, a timeout, a terminal.
func testExec(t *testing.T, e *env, sb *sandbox.Sandbox) {
	c := e.run(t, sb, Config{Name: "exec", Seccomp: true, Command: []string{"sh", "-c", "exec sleep 1000"}})
	ctx := context.Background()
	res, err := e.containers.Exec(ctx, c.ID, []string{"sh", "-c", "grep '^Seccomp:' /proc/self/status; echo err >&2; exit 3"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 || string(res.Stdout) != "Seccomp:\t2\n" || string(res.Stderr) != "err\n" {
		t.Errorf("exec: code %d stdout %q stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}
	res, err = e.containers.Exec(ctx, c.ID, []string{"busybox", "unshare", "-U", "true"}, 0)
	if err != nil || res.ExitCode == 0 || !strings.Contains(string(res.Stderr), "not permitted") {
		t.Errorf("unshare in exec: %v %+v, want EPERM from seccomp", err, res)
	}
	start := time.Now()
	if _, err := e.containers.Exec(ctx, c.ID, []string{"sleep", "30"}, 300*time.Millisecond); err == nil {
		t.Error("exec past its timeout succeeded")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("exec timeout took %s", d)
	}
	waitProcs(t, e, c, 1) // the timed-out sleep is killed and reaped
	testExecTTY(t, e, c)
	if err := e.containers.Remove(c.ID); err != nil {
		t.Fatal(err)
	}
}

func testExecTTY(t *testing.T, e *env, c *Container) {
	resize := make(chan TermSize, 2)
	go func() { // twice: the first may come before the runtime watches for it
		for range 2 {
			resize <- TermSize{Width: 100, Height: 40}
			time.Sleep(300 * time.Millisecond)
		}
		close(resize)
	}()
	var out bytes.Buffer
	script := `test -t 1 && echo is-a-tty; for i in 1 2 3 4 5 6 7 8 9 10; do s=$(stty size); [ "$s" = "40 100" ] && break; sleep 0.1; done; echo size=$s; exit 4`
	code, err := e.containers.ExecStream(context.Background(), c.ID, []string{"sh", "-c", script},
		ExecIO{Stdout: &out, TTY: true, Resize: resize})
	if err != nil {
		t.Fatal(err)
	}
	if code != 4 || !strings.Contains(out.String(), "is-a-tty") || !strings.Contains(out.String(), "size=40 100") {
		t.Errorf("tty exec: code %d output %q", code, out.String())
	}
}

// waitProcs waits until the container's cgroup holds n processes.
func waitProcs(t *testing.T, e *env, c *Container, n int) {
	t.Helper()
	var procs []int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var err error
		if procs, err = e.cg.Procs(c.Cgroup); err == nil && len(procs) == n {
			return
		}
	}
	t.Errorf("container cgroup holds %v, want %d processes", procs, n)
}
