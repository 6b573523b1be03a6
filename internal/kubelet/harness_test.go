package kubelet

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/klite/klite/internal/apiserver/apiservertest"
	"github.com/klite/klite/internal/runtime/cgroups"
	"github.com/klite/klite/internal/runtime/cri"
	"github.com/klite/klite/internal/runtime/shim"
	"github.com/klite/klite/internal/runtime/testimage"
	"github.com/klite/klite/internal/runtime/testnetns"
)

func TestMain(m *testing.M) {
	if shim.MaybeRun() {
		return
	}
	os.Exit(m.Run())
}

// env is a test cluster: a real API server, klite's runtime in a private
// network namespace, a busybox image in a local registry, and a kubelet.
type env struct {
	t       testing.TB
	client  kubernetes.Interface
	cfg     Config
	image   string
	netns   string
	kubelet *Kubelet
	stop    func()
}

var subnetCounter atomic.Int32

func newEnv(t testing.TB, mutate ...func(*Config)) *env {
	t.Helper()
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("skipping: runc missing (internal/runtime/install-test-deps.sh)")
	}
	testimage.RequireBusybox(t)
	cluster := apiservertest.StartT(t, apiservertest.Options{})
	e := &env{t: t, client: cluster.Client, netns: testnetns.New(t)}
	e.image = testimage.Registry(t) + "/library/busybox:1.36"
	testimage.Push(t, e.image, testimage.Busybox(t))
	rt, img := e.startRuntime()
	e.cfg = Config{NodeName: "node-1", NodeIP: "10.0.0.10", Runtime: rt, Images: img,
		RootDir: t.TempDir(), ManifestPath: t.TempDir(), Address: "127.0.0.1:0",
		BackoffInitial: time.Second, BackoffMax: 4 * time.Second, LeaseRenew: time.Second, ResyncPeriod: 200 * time.Millisecond,
		Dial:   dialInNetNS(e.netns),
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	// Thresholds far below upstream's defaults: the tests share a machine whose disk may be fuller
	// than imagefs.available<15% allows, and pressure there would evict their pods.
	e.cfg.EvictionHard, _ = ParseThresholds("memory.available<1Mi,nodefs.available<1%,imagefs.available<1%,nodefs.inodesFree<1%")
	// The kubelet's clients are limited as in production.
	if err := e.cfg.SetClients(cluster.Config, DefaultClientLimits()); err != nil {
		t.Fatal(err)
	}
	for _, m := range mutate {
		m(&e.cfg)
	}
	e.startKubelet()
	t.Cleanup(func() {
		e.stop()
		e.killAll() // pods outlive the kubelet; the test's must not
		unmountUnder(e.cfg.RootDir)
	})
	return e
}

// startRuntime serves klite's CRI on a unix socket and dials it.
func (e *env) startRuntime() (runtimeapi.RuntimeServiceClient, runtimeapi.ImageServiceClient) {
	t := e.t
	n := subnetCounter.Add(1)
	cgroupRoot := fmt.Sprintf("/klite-kubelet-test-%d-%d", os.Getpid(), n)
	// KLITE_TEST_RUNC names an OCI runtime binary to run the containers with instead of the
	// built-in libcontainer (to compare them: KLITE_TEST_RUNC=/usr/sbin/runc).
	svc, err := cri.New(cri.Config{RuncPath: os.Getenv("KLITE_TEST_RUNC"), Root: t.TempDir(), RuncRoot: t.TempDir(), Bridge: "kkl0",
		PodSubnet: fmt.Sprintf("10.81.%d.0/24", n), HostNetNS: e.netns, NFTable: "klite_kubelet_test",
		CgroupRoot: cgroupRoot, CNIConfDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "cri.sock")
	ln, err := cri.ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- svc.Serve(ctx, ln) }()
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.killAll()
		conn.Close()
		cancel()
		<-served
		_ = svc.RemoveNode()
		svc.Close()
		if cg, err := cgroups.Detect(); err == nil {
			if err := cg.Remove(cgroupRoot); err != nil {
				t.Errorf("cleanup cgroups: %v", err)
			}
		}
	})
	return runtimeapi.NewRuntimeServiceClient(conn), runtimeapi.NewImageServiceClient(conn)
}

// killAll removes every sandbox the test left.
func (e *env) killAll() {
	ctx := context.Background()
	sbs, err := e.cfg.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return
	}
	for _, sb := range sbs.Items {
		_, _ = e.cfg.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.Id})
		_, _ = e.cfg.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.Id})
	}
}

// startKubelet runs a kubelet; e.stop stops it and waits for it.
func (e *env) startKubelet() {
	k, err := New(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Start(ctx) }()
	e.kubelet = k
	var once atomic.Bool
	e.stop = func() {
		if once.CompareAndSwap(false, true) {
			cancel()
			if err := <-done; err != nil {
				e.t.Errorf("kubelet Start: %v", err)
			}
		}
	}
}

// dialInNetNS dials from inside the test's node network namespace, where
// the pod network lives.
func dialInNetNS(path string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		type result struct {
			c   net.Conn
			err error
		}
		ch := make(chan result, 1)
		go func() {
			goruntime.LockOSThread() // never unlocked: the thread ends in the netns
			f, err := os.Open(path)
			if err != nil {
				ch <- result{err: err}
				return
			}
			defer f.Close()
			if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
				ch <- result{err: err}
				return
			}
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			ch <- result{c, err}
		}()
		r := <-ch
		return r.c, r.err
	}
}

// pod builds a pod bound to node-1 running sh -c script.
func (e *env) pod(name, script string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	zero := int64(1)
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{NodeName: e.cfg.NodeName, TerminationGracePeriodSeconds: &zero,
			Containers: []corev1.Container{{Name: "main", Image: e.image, ImagePullPolicy: corev1.PullIfNotPresent,
				Command: []string{"sh", "-c", script}}}}}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func (e *env) create(p *corev1.Pod) *corev1.Pod {
	e.t.Helper()
	out, err := e.client.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// waitPod polls the pod until cond holds, failing after timeout.
func (e *env) waitPod(name string, timeout time.Duration, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	var last *corev1.Pod
	for time.Now().Before(deadline) {
		p, err := e.client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if err == nil {
			last = p
			if cond(p) {
				return p
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatalf("pod %s: timed out waiting for %s; last status: %s", name, what, describe(last))
	return nil
}

func describe(p *corev1.Pod) string {
	if p == nil {
		return "<none>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s", p.Status.Phase)
	for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
		fmt.Fprintf(&b, " %s{restarts=%d ready=%v state=%+v last=%+v}", cs.Name, cs.RestartCount, cs.Ready, cs.State, cs.LastTerminationState)
	}
	return b.String()
}

func running(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning }

func containerStatus(p *corev1.Pod, name string) *corev1.ContainerStatus {
	for i, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
		if cs.Name == name {
			all := append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...)
			return &all[i]
		}
	}
	return nil
}

// logs reads a container's log through the kubelet API.
func (e *env) logs(pod, container, query string) string {
	e.t.Helper()
	body, code := e.get("/containerLogs/default/" + pod + "/" + container + query)
	if code != 200 {
		e.t.Fatalf("logs %s/%s: %d %s", pod, container, code, body)
	}
	return body
}

// events lists the reasons of the pod's events.
func (e *env) events(name string) []string {
	list, err := e.client.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range list.Items {
		if ev.InvolvedObject.Name == name {
			out = append(out, ev.Reason)
		}
	}
	return out
}

func mustQ(s string) resource.Quantity { return resource.MustParse(s) }

func itoa(i int) string { return fmt.Sprint(i) }

func (e *env) tlsInsecure() *tls.Config { return &tls.Config{InsecureSkipVerify: true} }

// unmountUnder detaches every mount below dir (memory emptyDirs).
func unmountUnder(dir string) {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			_ = unix.Unmount(f[4], unix.MNT_DETACH)
		}
	}
}
