package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// kliteBin is the binary under test, built once for the package.
var kliteBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "klite-e2e-bin-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	kliteBin = filepath.Join(dir, "klite")
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	build := exec.Command("go", "build", "-o", kliteBin, "./cmd/klite")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build klite:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running `klite server` process.
type server struct {
	t          *testing.T
	dataDir    string
	etcdPort   int
	cmd        *exec.Cmd
	log        *bytes.Buffer
	kubeconfig string
	exited     chan error
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startServer starts klite server on dataDir (reused across restarts) with fresh ports.
func startServer(t *testing.T, dataDir string, etcdPort int) *server {
	t.Helper()
	return startServerArgs(t, dataDir, etcdPort, "--secure-port", fmt.Sprint(freePort(t)))
}

// startServerArgs starts klite server with extra flags.
func startServerArgs(t *testing.T, dataDir string, etcdPort int, extra ...string) *server {
	t.Helper()
	s := &server{t: t, dataDir: dataDir, etcdPort: etcdPort, log: &bytes.Buffer{}, kubeconfig: filepath.Join(dataDir, "admin.kubeconfig"), exited: make(chan error, 1)}
	_ = os.Remove(s.kubeconfig)
	args := append([]string{"server", "--data-dir", dataDir, "--bind-address", "127.0.0.1",
		"--etcd-client-port", fmt.Sprint(etcdPort), "--etcd-peer-port", fmt.Sprint(freePort(t)), "--disable-agent",
		"--scheduler-bind-address", "127.0.0.1:0"}, extra...)
	s.cmd = exec.Command(kliteBin, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.exited <- s.cmd.Wait() }()
	t.Cleanup(func() { s.kill() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(s.kubeconfig); err == nil {
			if out, err := s.kubectlErr("get", "--raw", "/readyz"); err == nil && strings.TrimSpace(out) == "ok" {
				return s
			}
		}
		select {
		case err := <-s.exited:
			t.Fatalf("klite server exited: %v\n%s", err, s.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("klite server not ready in 60s\n%s", s.log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (s *server) kill() {
	if s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.exited
		s.exited <- nil
	}
}

// kubectlWith runs a kubectl binary against the server.
func (s *server) kubectlWith(bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--kubeconfig", s.kubeconfig}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String() + errb.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

func (s *server) kubectlErr(args ...string) (string, error) { return s.kubectlWith("kubectl", args...) }

func (s *server) kubectl(args ...string) string {
	s.t.Helper()
	out, err := s.kubectlErr(args...)
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

// kubectlBinaries are the kubectl versions to drive the server with: the one on PATH, and the
// oldest and newest versioned ones shipped beside it.
func kubectlBinaries(t *testing.T) []string {
	path, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatal("kubectl is not on PATH")
	}
	bins := []string{"kubectl"}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return bins
	}
	for _, v := range []string{"kubectl.1.27", "kubectl.1.33"} {
		p := filepath.Join(filepath.Dir(real), v)
		if _, err := os.Stat(p); err == nil {
			bins = append(bins, p)
		} else {
			t.Logf("%s not present beside %s; not tested", v, real)
		}
	}
	return bins
}
