package runtime

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/klite/klite/internal/runtime/cgroups"
	"github.com/klite/klite/internal/runtime/testimage"
	"github.com/klite/klite/internal/runtime/testnetns"
)

// commandEnv makes the test binary run `klite <args>` instead of its tests:
// the crictl and critest tests start `klite runtime` as a real process this
// way (cmd/klite's main does nothing more than this command tree).
const commandEnv = "KLITE_TEST_RUN_COMMAND"

// maybeRunCommand runs the command line when commandEnv is set.
func maybeRunCommand() (int, bool) {
	if os.Getenv(commandEnv) != "1" {
		return 0, false
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	root := &cobra.Command{Use: "klite", SilenceUsage: true}
	root.AddCommand(Commands()...)
	root.SetArgs(os.Args[1:])
	if err := root.ExecuteContext(ctx); err != nil {
		return 1, true
	}
	return 0, true
}

// requireTool finds a cri-tools binary on PATH or in $GOPATH/bin, where
// hack/test.sh installs it. Missing, it fails the test in CI (CI set) and
// skips it elsewhere.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		home, _ := os.UserHomeDir()
		gopath = filepath.Join(home, "go")
	}
	p := filepath.Join(filepath.SplitList(gopath)[0], "bin", name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	msg := fmt.Sprintf("%s not found on PATH or in %s (hack/test.sh installs it from sigs.k8s.io/cri-tools)", name, filepath.Dir(p))
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip("skipping: " + msg)
	return ""
}

// rig is `klite runtime` running as its own process with its node network
// in a private network namespace and its pods under a private cgroup root.
type rig struct {
	dir        string // the runtime's --root (its data dir)
	sock       string
	runcRoot   string
	cgroupRoot string
	netns      string
	registry   string // host:port of an in-process registry
	busybox    string // the busybox image's reference in it
	pid        int    // the runtime process
}

// startRuntime starts `klite runtime` with the rig's flags and extra ones.
func startRuntime(t *testing.T, name string, extra ...string) *rig {
	t.Helper()
	testimage.RequireBusybox(t)
	tmp := t.TempDir()
	r := &rig{dir: filepath.Join(tmp, "data"), sock: filepath.Join(tmp, "cri.sock"), runcRoot: filepath.Join(tmp, "runc"),
		cgroupRoot: fmt.Sprintf("/klite-%s-%d", name, os.Getpid()), netns: testnetns.New(t), registry: testimage.Registry(t)}
	r.busybox = r.registry + "/library/busybox:1"
	testimage.Push(t, r.busybox, testimage.Busybox(t))
	cniDir := filepath.Join(tmp, "cni") // empty: klite's own bridge
	if err := os.Mkdir(cniDir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "runtime", "--root", r.dir, "--listen", r.sock, "--runc-root", r.runcRoot,
		"--bridge", "kcrictl0", "--pod-cidr", "10.81.0.0/24", "--cgroup-root", r.cgroupRoot,
		"--cni-conf-dir", cniDir, "--host-netns", r.netns, "--nftable", "klite_crictl")
	cmd.Args = append(cmd.Args, extra...)
	cmd.Env = append(os.Environ(), commandEnv+"=1")
	logf, err := os.Create(filepath.Join(tmp, "runtime.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.pid = cmd.Process.Pid
	t.Cleanup(func() { r.stop(t, cmd, logf) })
	waitFor(t, 20*time.Second, "the CRI socket", func() bool {
		_, err := os.Stat(r.sock)
		return err == nil
	})
	return r
}

// stop removes the pods a failed test left, ends the runtime process and
// removes its cgroup root; the network namespace goes with testnetns's
// cleanup. (Pods outlive their runtime by design.)
func (r *rig) stop(t *testing.T, cmd *exec.Cmd, logf *os.File) {
	r.removeAllPods(t)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("klite runtime exited: %v", err)
		}
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Error("klite runtime did not stop on SIGTERM")
	}
	logf.Close()
	if t.Failed() {
		if b, err := os.ReadFile(logf.Name()); err == nil {
			t.Logf("klite runtime log:\n%s", tail(string(b), 60))
		}
	}
	if m, err := cgroups.Detect(); err == nil {
		if err := m.Remove(r.cgroupRoot); err != nil {
			t.Errorf("remove cgroup root: %v", err)
		}
	}
}

func (r *rig) removeAllPods(t *testing.T) {
	conn, err := grpc.NewClient("unix://"+r.sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Errorf("connect to clean up: %v", err)
		return
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rt := runtimeapi.NewRuntimeServiceClient(conn)
	pods, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		t.Errorf("list pods to clean up: %v", err)
		return
	}
	for _, p := range pods.Items {
		if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.Id}); err != nil {
			t.Errorf("remove pod %s: %v", p.Id, err)
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func waitFor(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
