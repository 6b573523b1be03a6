package e2e

import (
	"archive/tar"
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klite/klite/internal/runtime/testimage"
)

// agentApplets are busybox applets the agent tests need beyond testimage's:
// kubectl cp runs tar, the TTY test runs tty and stty, the OOM test tail.
var agentApplets = []string{"tar", "tty", "stty", "tail", "seq", "wc", "date", "expr"}

// agentCluster is one `klite server` running its local agent (a real node
// with klite's runtime), with a busybox image in an in-process registry.
type agentCluster struct {
	*server
	t          *testing.T
	node       string
	image      string
	securePort int
	etcdPort   int
	peerPort   int
	logPath    string
}

// requireAgentHost skips unless the machine can run real containers.
func requireAgentHost(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: the agent e2e tests run real containers and need root")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("skipping: runc missing (internal/runtime/install-test-deps.sh)")
	}
	testimage.RequireBusybox(t)
}

// newAgentCluster starts klite server with its agent on a fresh data dir
// and pushes the busybox image. Its cleanup deletes every pod, stops the
// server and removes the data dir (failing the test when it cannot).
func newAgentCluster(t *testing.T) *agentCluster {
	t.Helper()
	requireAgentHost(t)
	dataDir, err := os.MkdirTemp("", "klite-e2e-agent-*")
	if err != nil {
		t.Fatal(err)
	}
	c := &agentCluster{t: t, node: "e2e-node-1", securePort: freePort(t), etcdPort: freePort(t), peerPort: freePort(t),
		logPath: dataDir + ".log"}
	t.Cleanup(func() { agentRemoveDir(t, dataDir); os.Remove(c.logPath) })
	var files []testimage.File
	for _, a := range agentApplets {
		files = append(files, testimage.File{Name: "bin/" + a, Type: tar.TypeSymlink, Linkname: "busybox"})
	}
	c.image = testimage.Registry(t) + "/e2e/busybox:1"
	testimage.Push(t, c.image, testimage.Busybox(t, testimage.Layer(t, files)))
	c.start(dataDir)
	t.Cleanup(c.teardown)
	c.waitNodeReady(c.node)
	return c
}

// testEvictionHard are eviction thresholds far below upstream's defaults: the tests share a
// machine whose disk may be fuller than imagefs.available<15% allows, and the DiskPressure taint
// would keep their pods from being scheduled.
const testEvictionHard = "memory.available<1Mi,nodefs.available<1%,imagefs.available<1%,nodefs.inodesFree<1%"

// start runs klite server on dataDir and waits until it serves.
func (c *agentCluster) start(dataDir string) {
	t := c.t
	t.Helper()
	logf, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, dataDir: dataDir, etcdPort: c.etcdPort, kubeconfig: filepath.Join(dataDir, "admin.kubeconfig"), exited: make(chan error, 1)}
	_ = os.Remove(s.kubeconfig)
	s.cmd = exec.Command(kliteBin, "server", "--data-dir", dataDir, "--bind-address", "127.0.0.1",
		"--secure-port", fmt.Sprint(c.securePort), "--etcd-client-port", fmt.Sprint(c.etcdPort),
		"--etcd-peer-port", fmt.Sprint(c.peerPort), "--scheduler-bind-address", "127.0.0.1:0",
		"--node-name", c.node, "--node-ip", "127.0.0.1", "--eviction-hard", testEvictionHard)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	go func() { s.exited <- s.cmd.Wait() }()
	c.server = s
	deadline := time.Now().Add(90 * time.Second)
	for {
		if _, err := os.Stat(s.kubeconfig); err == nil {
			if out, err := s.kubectlErr("get", "--raw", "/readyz"); err == nil && strings.TrimSpace(out) == "ok" {
				return
			}
		}
		select {
		case err := <-s.exited:
			s.exited <- err
			t.Fatalf("klite server exited: %v\n%s", err, c.logTail())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("klite server not ready in 90s\n%s", c.logTail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// kill9 kills the server with SIGKILL, leaving its containers running.
func (c *agentCluster) kill9() {
	c.t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		c.t.Fatal(err)
	}
	<-c.exited
	c.exited <- nil
}

// logTail is the end of the server's log, for failure messages.
func (c *agentCluster) logTail() string {
	data, _ := os.ReadFile(c.logPath)
	if len(data) > 8000 {
		data = data[len(data)-8000:]
	}
	return string(data)
}

// teardown deletes every pod through the API (so the kubelet stops and
// removes the containers and volumes), then stops the server gracefully.
func (c *agentCluster) teardown() {
	t := c.t
	if c.cmd.ProcessState != nil {
		return
	}
	_ = os.RemoveAll(filepath.Join(c.dataDir, "manifests"))
	_ = os.MkdirAll(filepath.Join(c.dataDir, "manifests"), 0o755)
	_, _ = c.kubectlErr("delete", "deployments,jobs,replicasets", "--all", "--all-namespaces", "--wait=false")
	_, _ = c.kubectlErr("delete", "pods", "--all", "--all-namespaces", "--grace-period=1", "--wait=false")
	if err := agentPoll(90*time.Second, func() (bool, error) {
		out, err := c.kubectlErr("get", "pods", "--all-namespaces", "-o", "name")
		return err == nil && strings.TrimSpace(out) == "", err
	}); err != nil {
		t.Errorf("pods not gone at teardown: %v\n%s", err, c.logTail())
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(40 * time.Second):
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		<-c.exited
	}
	c.exited <- nil
	if t.Failed() {
		t.Logf("server log:\n%s", c.logTail())
	}
}

// agentRemoveDir unmounts what is left under dir and removes it; the
// agent's data dir must be removable once its pods are gone.
func agentRemoveDir(t *testing.T, dir string) {
	t.Helper()
	if left := agentMountsUnder(dir); len(left) > 0 {
		t.Errorf("mounts left under %s after teardown: %v", dir, left)
		for i := len(left) - 1; i >= 0; i-- {
			_ = syscall.Unmount(left[i], syscall.MNT_DETACH)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Errorf("remove data dir: %v", err)
	}
}

// agentMountsUnder lists mount points under dir, outermost first.
func agentMountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
			out = append(out, fields[4])
		}
	}
	return out
}

// agentPoll calls f every 250 ms until it reports done or timeout passes;
// the error is f's last one, or a timeout.
func agentPoll(timeout time.Duration, f func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		done, err := f()
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("timed out after %s", timeout)
			}
			return err
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// waitFor polls a jsonpath of an object until it satisfies ok, failing
// the test (with the object and server log) after timeout.
func (c *agentCluster) waitFor(t *testing.T, timeout time.Duration, obj, jsonpath string, ok func(string) bool, args ...string) string {
	t.Helper()
	var last string
	err := agentPoll(timeout, func() (bool, error) {
		out, err := c.kubectlErr(append([]string{"get", obj, "-o", "jsonpath=" + jsonpath}, args...)...)
		last = out
		return err == nil && ok(out), err
	})
	if err != nil {
		yaml, _ := c.kubectlErr(append([]string{"get", obj, "-o", "yaml"}, args...)...)
		t.Fatalf("%s %s: last %q: %v\n%s", obj, jsonpath, last, err, yaml)
	}
	return last
}

func (c *agentCluster) waitNodeReady(node string) {
	c.t.Helper()
	c.waitFor(c.t, 60*time.Second, "node/"+node, `{.status.conditions[?(@.type=="Ready")].status}`, equals("True"))
}

// waitPodRunning waits until the pod is Running with every container ready.
func (c *agentCluster) waitPodReady(t *testing.T, ns, pod string) {
	t.Helper()
	c.waitFor(t, 90*time.Second, "pod/"+pod, `{.status.phase}/{.status.conditions[?(@.type=="Ready")].status}`,
		equals("Running/True"), "-n", ns)
}

func equals(want string) func(string) bool { return func(s string) bool { return s == want } }

// apply runs kubectl apply -f - with the manifest.
func (c *agentCluster) apply(t *testing.T, ns, manifest string) {
	t.Helper()
	if _, err := c.kubectlIn(ns, manifest, "apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}
}

// kubectlIn runs kubectl in namespace ns with stdin.
func (c *agentCluster) kubectlIn(ns, stdin string, args ...string) (string, error) {
	return c.run("kubectl", stdin, append([]string{"-n", ns}, args...)...)
}

// run runs a kubectl binary with stdin; the output is stdout, and stderr too on failure.
func (c *agentCluster) run(bin, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String() + errb.String(), fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

// namespace creates a namespace for one test.
func (c *agentCluster) namespace(t *testing.T, name string) string {
	t.Helper()
	if _, err := c.kubectlErr("create", "namespace", name); err != nil {
		t.Fatal(err)
	}
	return name
}

// streamer is a long-running command (logs -f, attach, port-forward)
// whose combined output is collected as it arrives.
type streamer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	mu    sync.Mutex
	out   strings.Builder
	more  chan struct{}
	done  chan struct{}
}

func (s *streamer) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.out.Write(p)
	s.mu.Unlock()
	select {
	case s.more <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (s *streamer) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// stream starts a kubectl binary in the background; it is killed at the end of the test.
func (c *agentCluster) stream(t *testing.T, bin string, args ...string) *streamer {
	t.Helper()
	s := &streamer{more: make(chan struct{}, 1), done: make(chan struct{})}
	s.cmd = exec.Command(bin, append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
	s.cmd.Stdout, s.cmd.Stderr = s, s
	var err error
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.stop)
	return s
}

func (s *streamer) stop() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// waitOutput waits until the output contains want.
func (s *streamer) waitOutput(t *testing.T, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for !strings.Contains(s.output(), want) {
		select {
		case <-s.more:
		case <-s.done:
			if !strings.Contains(s.output(), want) {
				t.Fatalf("%s exited without printing %q:\n%s", s.cmd.Args[0], want, s.output())
			}
		case <-deadline:
			t.Fatalf("%s: no %q in %s:\n%s", s.cmd.Args[0], want, timeout, s.output())
		}
	}
}
