package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// memoryResult is the resident set of a `klite server` process (embedded etcd included).
type memoryResult struct {
	idleMB, loadedMB, peakMB float64
	objects                  int
}

func (r memoryResult) report(b *testing.B) {
	b.ReportMetric(r.idleMB, "idle-RSS-MB")
	b.ReportMetric(r.loadedMB, "loaded-RSS-MB")
	b.ReportMetric(r.peakMB, "peak-RSS-MB")
	b.ReportMetric(float64(r.objects), "objects")
}

// serverProcess is a running `klite server`.
type serverProcess struct {
	cmd     *exec.Cmd
	log     *bytes.Buffer
	exited  chan error
	client  kubernetes.Interface
	dataDir string // its --data-dir: server/node-token and server/tls/ca.crt let agents join
	url     string // the API server's https URL
}

// buildKlite builds cmd/klite into a temporary directory and returns the binary's path.
func buildKlite(tb testing.TB) string {
	tb.Helper()
	return buildKliteTo(tb, filepath.Join(tb.TempDir(), "klite"))
}

// buildKliteTo builds cmd/klite as bin and returns bin.
func buildKliteTo(tb testing.TB, bin string) string {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0)
	build := exec.Command("go", "build", "-o", bin, "./cmd/klite")
	build.Dir = filepath.Join(filepath.Dir(file), "..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("build klite: %v\n%s", err, out)
	}
	return bin
}

func freePort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// startServer runs `klite server` on a fresh data dir and waits until /readyz answers ok. The
// process is stopped (SIGTERM, then SIGKILL) when tb ends.
func startServer(tb testing.TB, bin string) *serverProcess {
	tb.Helper()
	dir := tb.TempDir()
	p := &serverProcess{log: &bytes.Buffer{}, exited: make(chan error, 1), dataDir: dir}
	args := []string{"server", "--data-dir", dir, "--bind-address", "127.0.0.1", "--secure-port", freePort(tb),
		"--etcd-client-port", freePort(tb), "--etcd-peer-port", freePort(tb), "--disable-agent"}
	// KLITE_BENCH_SERVER_ARGS adds flags, e.g. "--disable scheduler,controller-manager" to
	// measure the API server and etcd alone.
	args = append(args, strings.Fields(os.Getenv("KLITE_BENCH_SERVER_ARGS"))...)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("start klite server: %v", err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	tb.Cleanup(p.stop)
	deadline := time.Now().Add(90 * time.Second)
	for !p.ready(filepath.Join(dir, "admin.kubeconfig")) {
		select {
		case err := <-p.exited:
			p.exited <- err
			tb.Fatalf("klite server exited: %v\n%s", err, p.log)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("klite server not ready in 90s\n%s", p.log)
		}
	}
	return p
}

// ready reports whether the kubeconfig exists and /readyz says ok, keeping a client when it does.
func (p *serverProcess) ready(kubeconfig string) bool {
	if _, err := os.Stat(kubeconfig); err != nil {
		return false
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return false
	}
	cfg = restConfig(cfg, true)
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	body, err := c.CoreV1().RESTClient().Get().AbsPath("/readyz").Do(ctx).Raw()
	if err != nil || strings.TrimSpace(string(body)) != "ok" {
		return false
	}
	p.client, p.url = c, cfg.Host
	return true
}

func (p *serverProcess) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		p.exited <- err
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		p.exited <- <-p.exited
	}
}

// statusMB reads a field (VmRSS, VmHWM) of /proc/<pid>/status in MB.
func (p *serverProcess) statusMB(tb testing.TB, field string) float64 {
	tb.Helper()
	return procStatusMB(tb, fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid), field)
}

// seed creates objects objects in spread namespaces: half configmaps, half pods.
func (p *serverProcess) seed(tb testing.TB, objects int) {
	tb.Helper()
	ctx := context.Background()
	const namespaces = 10
	for i := range namespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("mem-%d", i)}}
		if _, err := p.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			tb.Fatalf("create namespace: %v", err)
		}
	}
	_, err := parallel(objects, 16, func(i int) error {
		ns, name := fmt.Sprintf("mem-%d", i%namespaces), fmt.Sprintf("obj-%d", i)
		if i%2 == 0 {
			_, err := p.client.CoreV1().ConfigMaps(ns).Create(ctx, configMap(ns, name), metav1.CreateOptions{})
			return err
		}
		_, err := p.client.CoreV1().Pods(ns).Create(ctx, pod(ns, name), metav1.CreateOptions{})
		return err
	})
	if err != nil {
		tb.Fatalf("seed objects: %v", err)
	}
}

// measureMemory starts bin as `klite server`, reads its RSS once idle (after settle) and again
// after storing objects objects (after settle).
func measureMemory(tb testing.TB, bin string, objects int, settle time.Duration) memoryResult {
	tb.Helper()
	p := startServer(tb, bin)
	time.Sleep(settle)
	r := memoryResult{idleMB: p.statusMB(tb, "VmRSS"), objects: objects}
	p.seed(tb, objects)
	time.Sleep(settle)
	r.loadedMB = p.statusMB(tb, "VmRSS")
	r.peakMB = p.statusMB(tb, "VmHWM")
	if path := os.Getenv("KLITE_BENCH_HEAP_PROFILE"); path != "" {
		p.saveHeapProfile(tb, path)
	}
	return r
}

// saveHeapProfile writes the loaded server's heap profile (its --profiling endpoint) to path,
// for `go tool pprof -sample_index=inuse_space path`.
func (p *serverProcess) saveHeapProfile(tb testing.TB, path string) {
	tb.Helper()
	body, err := p.client.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/heap").Do(context.Background()).Raw()
	if err != nil {
		tb.Fatalf("heap profile: %v", err)
	}
	if err := os.WriteFile(path, body, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkServerMemory reports the RSS of a real `klite server` process idle and with 15,000
// objects (half configmaps, half pods) stored. It runs once whatever b.N is.
func BenchmarkServerMemory(b *testing.B) {
	bin := buildKlite(b)
	b.Run("objects15000", func(b *testing.B) {
		measureMemory(b, bin, 15000, 5*time.Second).report(b)
	})
}
