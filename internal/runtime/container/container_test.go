package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/klite/klite/internal/runtime/cgroups"
	"github.com/klite/klite/internal/runtime/image"
	"github.com/klite/klite/internal/runtime/network"
	"github.com/klite/klite/internal/runtime/oci"
	"github.com/klite/klite/internal/runtime/proc"
	"github.com/klite/klite/internal/runtime/rootfs"
	"github.com/klite/klite/internal/runtime/sandbox"
	"github.com/klite/klite/internal/runtime/shim"
	"github.com/klite/klite/internal/runtime/testimage"
	"github.com/klite/klite/internal/runtime/testnetns"
)

func TestMain(m *testing.M) {
	if shim.MaybeRun() {
		return
	}
	code := m.Run()
	if images.dir != "" {
		_ = os.RemoveAll(images.dir)
	}
	os.Exit(code)
}

// images is the busybox image store all tests share (read-only for them):
// pulled once from an in-process registry by the first test that needs it.
var images struct {
	once  sync.Once
	dir   string
	store *image.Store
	ref   string
	err   error
}

func sharedImages(t *testing.T) (*image.Store, string) {
	t.Helper()
	testimage.RequireBusybox(t)
	images.once.Do(func() {
		host := testimage.Registry(t) // closes with this test; the store stays
		images.ref = host + "/busybox:test"
		testimage.Push(t, images.ref, testimage.Busybox(t))
		if images.dir, images.err = os.MkdirTemp("", "klite-images-"); images.err != nil {
			return
		}
		if images.store, images.err = image.New(image.Config{Root: images.dir}); images.err != nil {
			return
		}
		_, images.err = images.store.Pull(context.Background(), images.ref, nil)
	})
	if images.err != nil {
		t.Fatal(images.err)
	}
	return images.store, images.ref
}

type env struct {
	image      string
	cg         *cgroups.Manager
	sandboxes  *sandbox.Manager
	containers *Manager
	cfg        ManagerConfig
	cgroupRoot string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, "")
}

// newEnvWith is newEnv with the OCI runtime binary runc ("" is the built-in one).
func newEnvWith(t *testing.T, runc string) *env {
	t.Helper()
	store, ref := sharedImages(t)
	cg, err := cgroups.Detect()
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	nm, err := network.New(network.Config{Bridge: "kctr0", Subnet: "10.79.0.0/24",
		StateDir: t.TempDir(), HostNetNS: testnetns.New(t), Table: "klite_test"})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{image: ref, cg: cg, cgroupRoot: fmt.Sprintf("/klite-test-%d", os.Getpid())}
	e.sandboxes, err = sandbox.NewManager(sandbox.ManagerConfig{Root: t.TempDir(), Network: nm, Cgroups: cg, CgroupRoot: e.cgroupRoot})
	if err != nil {
		t.Fatal(err)
	}
	e.cfg = ManagerConfig{Root: t.TempDir(), RuncPath: runc, RuncRoot: t.TempDir(), Images: store, Cgroups: cg}
	if e.containers, err = NewManager(e.cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, c := range e.containers.List() {
			if err := e.containers.Remove(c.ID); err != nil {
				t.Errorf("cleanup container: %v", err)
			}
		}
		for _, sb := range e.sandboxes.List() {
			if err := e.sandboxes.Remove(sb.ID); err != nil {
				t.Errorf("cleanup sandbox: %v", err)
			}
		}
		_ = nm.RemoveNode()
		nm.Close()
		if err := cg.Remove(e.cgroupRoot); err != nil {
			t.Errorf("cleanup cgroups: %v", err)
		}
	})
	return e
}

func (e *env) pod(t *testing.T, cfg sandbox.Config) *sandbox.Sandbox {
	t.Helper()
	sb, err := e.sandboxes.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sb
}

func (e *env) run(t *testing.T, sb *sandbox.Sandbox, cfg Config) *Container {
	t.Helper()
	if cfg.Image == "" {
		cfg.Image = e.image
	}
	if cfg.LogPath == "" {
		cfg.LogPath = filepath.Join(t.TempDir(), cfg.Name, "0.log")
	}
	c, err := e.containers.Create(cfg, sb)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.containers.Start(c.ID); err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) waitExited(t *testing.T, id string, d time.Duration) *Container {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		c, err := e.containers.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if c.State == Exited {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s still %s after %s", c.Config.Name, c.State, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var criLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z (stdout|stderr) (F|P) (.*)$`)

// logLines returns the log's records as "stream text" after checking the format.
func logLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		m := criLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("log line not in CRI format: %q", l)
		}
		out = append(out, m[2]+" "+m[4])
	}
	return out
}

func TestContainerRunsInPodWithLogsAndExitCode(t *testing.T) {
	e := newEnv(t)
	sb := e.pod(t, sandbox.Config{Name: "web", Namespace: "default", UID: "u1", Hostname: "web-0"})
	uid := int64(65534)
	c := e.run(t, sb, Config{Name: "main", Command: []string{"sh", "-c",
		`echo "host=$(hostname)"; echo "ip=$(ip -4 -o addr show eth0 | grep -o '10\.79\.[0-9.]*')"; ` +
			`echo "env=$IMAGE_VAR,$POD_VAR"; echo "id=$(id -u)"; echo oops >&2; exit 3`},
		Env: []string{"POD_VAR=from-pod"}, RunAsUser: &uid})
	got := e.waitExited(t, c.ID, 10*time.Second)
	if got.ExitCode != 3 || got.Reason != ReasonError || got.FinishedAt.IsZero() || got.StartedAt.IsZero() {
		t.Errorf("exit %d reason %q finished %v", got.ExitCode, got.Reason, got.FinishedAt)
	}
	lines := logLines(t, got.LogPath)
	want := []string{"stdout host=web-0", "stdout ip=" + sb.IP, "stdout env=from-image,from-pod", "stdout id=65534", "stderr oops"}
	for _, w := range want {
		if !contains(lines, w) {
			t.Errorf("log lacks %q: %q", w, lines)
		}
	}
}

func TestCompletedAndRestartedRuntimeSeesIt(t *testing.T) {
	e := newEnv(t)
	sb := e.pod(t, sandbox.Config{Name: "job", Namespace: "default", UID: "u2", Hostname: "job"})
	c := e.run(t, sb, Config{Name: "ok", Command: []string{"true"}})
	got := e.waitExited(t, c.ID, 10*time.Second)
	if got.ExitCode != 0 || got.Reason != ReasonCompleted {
		t.Errorf("exit %d reason %q", got.ExitCode, got.Reason)
	}
	long := e.run(t, sb, Config{Name: "long", Command: []string{"sleep", "1000"}})
	again, err := NewManager(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := again.Get(long.ID)
	if err != nil || l.State != Running {
		t.Fatalf("after restart: %+v %v", l, err)
	}
	if err := again.Stop(context.Background(), long.ID, 0); err != nil {
		t.Fatal(err)
	}
	if l, _ := again.Get(long.ID); l.State != Exited || l.ExitCode != 137 {
		t.Errorf("after kill: state %s code %d", l.State, l.ExitCode)
	}
}

func TestStopTermThenKill(t *testing.T) {
	e := newEnv(t)
	sb := e.pod(t, sandbox.Config{Name: "stop", Namespace: "default", UID: "u3", Hostname: "stop"})
	graceful := e.run(t, sb, Config{Name: "graceful", Command: []string{"sh", "-c",
		"trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done"}})
	stubborn := e.run(t, sb, Config{Name: "stubborn", Command: []string{"sh", "-c",
		"trap '' TERM; echo ready; while :; do sleep 0.05; done"}})
	waitLog(t, graceful.LogPath, "stdout ready")
	waitLog(t, stubborn.LogPath, "stdout ready")

	start := time.Now()
	if err := e.containers.Stop(context.Background(), graceful.ID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if g, _ := e.containers.Get(graceful.ID); g.ExitCode != 0 || time.Since(start) > 5*time.Second {
		t.Errorf("graceful: code %d after %s", g.ExitCode, time.Since(start))
	}
	waitLog(t, graceful.LogPath, "stdout bye")

	// A caller that goes away during the grace period (a kubelet shutting down) gets its
	// context's error at once; the container is left terminating, for a later Stop.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := e.containers.Stop(ctx, stubborn.ID, time.Minute); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("stop with a cancelled context: %v after %s", err, time.Since(start))
	}
	if s, _ := e.containers.Get(stubborn.ID); s.State != Running {
		t.Fatalf("stubborn is %s after an abandoned stop, want still running", s.State)
	}

	start = time.Now()
	if err := e.containers.Stop(context.Background(), stubborn.ID, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	s, _ := e.containers.Get(stubborn.ID)
	if s.ExitCode != 137 || time.Since(start) < 500*time.Millisecond {
		t.Errorf("stubborn: code %d after %s, want 137 after the 500ms timeout", s.ExitCode, time.Since(start))
	}
}

// TestOOMKilled: a limit is enforced, also one smaller than the memory
// the container's init holds before it runs the program (a race-enabled
// build's: runner applies such a limit once the program runs).
func TestOOMKilled(t *testing.T) {
	e := newEnv(t)
	sb := e.pod(t, sandbox.Config{Name: "oom", Namespace: "default", UID: "u4", Hostname: "oom"})
	for _, limit := range []int64{32 << 20, 8 << 20} {
		c := e.run(t, sb, Config{Name: fmt.Sprint("hog-", limit), Command: []string{"dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"},
			Resources: oci.Resources{MemoryLimit: limit}})
		got := e.waitExited(t, c.ID, 20*time.Second)
		if got.Reason != ReasonOOMKilled || got.ExitCode != 137 {
			t.Errorf("limit %d: reason %q code %d, want OOMKilled 137", limit, got.Reason, got.ExitCode)
		}
	}
}

func TestRemoveLeavesNothing(t *testing.T) {
	e := newEnv(t)
	sb := e.pod(t, sandbox.Config{Name: "rm", Namespace: "default", UID: "u5", Hostname: "rm"})
	c := e.run(t, sb, Config{Name: "sleeper", Command: []string{"sleep", "1000"}})
	// Writes stay inside the container's upper dir.
	if !rootfsMounted(c) {
		t.Fatal("rootfs not mounted while running")
	}
	if err := e.containers.Remove(c.ID); err != nil {
		t.Fatal(err)
	}
	if rootfsMounted(c) {
		t.Error("rootfs still mounted")
	}
	if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
		t.Error("bundle dir left")
	}
	if _, err := os.Stat(filepath.Join(e.cfg.RuncRoot, c.ID)); !os.IsNotExist(err) {
		t.Error("runc state left")
	}
	if e.cg.Exists(c.Cgroup) {
		t.Error("container cgroup left")
	}
	if proc.Alive(c.ShimPid) || proc.Alive(c.Pid) {
		t.Error("shim or container process left")
	}
	if _, err := e.containers.Get(c.ID); err == nil {
		t.Error("container still listed")
	}
}

func TestCreateFailureLeavesNothing(t *testing.T) {
	e := newEnv(t)
	sb := e.pod(t, sandbox.Config{Name: "bad", Namespace: "default", UID: "u6", Hostname: "bad"})
	_, err := e.containers.Create(Config{Name: "bad", Image: e.image, Command: []string{"/does/not/exist"}}, sb)
	if err == nil {
		t.Fatal("create of a missing binary succeeded")
	}
	if entries, _ := os.ReadDir(e.cfg.Root); len(entries) != 0 {
		t.Errorf("left %d bundles", len(entries))
	}
	if entries, _ := os.ReadDir(e.cfg.RuncRoot); len(entries) != 0 {
		t.Errorf("left %d runc states", len(entries))
	}
}

func rootfsMounted(c *Container) bool {
	m, _ := rootfs.IsMounted(rootfs.Path(filepath.Join(c.Dir, "fs")))
	return m
}

func waitLog(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), strings.Replace(want, " ", " F ", 1)) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("log %s never showed %q", path, want)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func mustImage(t *testing.T, e *env) *image.Image {
	t.Helper()
	img, err := e.cfg.Images.Get(e.image)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestShimDeathIsNoticed(t *testing.T) {
	e := newEnv(t)
	sb := e.pod(t, sandbox.Config{Name: "orphan", Namespace: "default", UID: "u10", Hostname: "orphan"})
	c := e.run(t, sb, Config{Name: "sleeper", Command: []string{"sleep", "1000"}})
	if err := unix.Kill(c.ShimPid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !proc.WaitGone(c.ShimPid, 5*time.Second) {
		t.Fatal("shim survived SIGKILL")
	}
	if got, _ := e.containers.Get(c.ID); got.State != Running {
		t.Errorf("state %s while the container still runs without its shim", got.State)
	}
	if err := unix.Kill(c.Pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	got := e.waitExited(t, c.ID, 5*time.Second)
	if got.ExitCode != 255 || got.Reason != ReasonError {
		t.Errorf("exit %d reason %q, want 255 Error (status unknown)", got.ExitCode, got.Reason)
	}
	if err := e.containers.Remove(c.ID); err != nil {
		t.Fatal(err)
	}
}
