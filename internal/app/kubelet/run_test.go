package kubelet

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/klite/klite/internal/apiserver/apiservertest"
	"github.com/klite/klite/internal/kubelet"
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

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Options)
		errSub string
	}{
		{"defaults", func(*Options) {}, ""},
		{"bad node ip", func(o *Options) { o.NodeIP = "nope" }, "--node-ip"},
		{"bad reservation", func(o *Options) { o.SystemReserved = map[string]string{"memory": "lots"} }, "--system-reserved"},
		{"max pods", func(o *Options) { o.MaxPods = 0 }, "--max-pods"},
		{"half tls", func(o *Options) { o.TLSCertFile = "c.pem" }, "--tls-cert-file"},
		{"bad eviction threshold", func(o *Options) { o.EvictionHard = "memory.available>1Gi" }, "--eviction-hard"},
		{"no eviction thresholds", func(o *Options) { o.EvictionHard = "" }, ""},
		{"gc low above high", func(o *Options) { o.ImageGCHighThresholdPercent, o.ImageGCLowThresholdPercent = 50, 60 }, "--image-gc-low-threshold"},
		{"gc high above 100", func(o *Options) { o.ImageGCHighThresholdPercent = 101 }, "--image-gc-high-threshold"},
		{"negative api burst", func(o *Options) { o.Limits.Burst = -1 }, "--kube-api-burst"},
		{"negative event burst", func(o *Options) { o.Limits.EventBurst = -1 }, "--event-burst"},
		{"unlimited api", func(o *Options) { o.Limits.QPS = -1 }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions()
			tc.mutate(o)
			err := o.Validate()
			if tc.errSub == "" && err != nil || tc.errSub != "" && (err == nil || !strings.Contains(err.Error(), tc.errSub)) {
				t.Errorf("Validate() = %v, want error containing %q", err, tc.errSub)
			}
		})
	}
}

func TestFlagsAndDefaults(t *testing.T) {
	cmd := Command()
	for _, f := range []string{"kubeconfig", "hostname-override", "node-ip", "pod-manifest-path", "container-runtime-endpoint",
		"root-dir", "data-dir", "max-pods", "node-labels", "system-reserved", "cluster-dns", "runtime-root", "pod-cidr", "cgroup-root",
		"eviction-hard", "eviction-pressure-transition-period", "image-gc-high-threshold", "image-gc-low-threshold", "image-minimum-gc-age",
		"kube-api-qps", "kube-api-burst", "event-qps", "event-burst"} {
		if cmd.Flags().Lookup(f) == nil {
			t.Errorf("flag --%s missing", f)
		}
	}
	o := NewOptions()
	if o.Limits != kubelet.DefaultClientLimits() {
		t.Errorf("default client limits = %+v, want upstream's %+v", o.Limits, kubelet.DefaultClientLimits())
	}
	fs := pflag.NewFlagSet("kubelet", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse([]string{"--kube-api-qps=20", "--event-burst=7"}); err != nil {
		t.Fatal(err)
	}
	if want := (kubelet.ClientLimits{QPS: 20, Burst: 100, EventQPS: 50, EventBurst: 7}); o.Limits != want {
		t.Errorf("client limits after flags = %+v, want %+v", o.Limits, want)
	}
	o.DataDir = "/d"
	o.complete()
	if o.RootDir != "/d/kubelet" || o.PodManifestPath != "/d/manifests" || o.Runtime.Root != "/d/runtime" || o.Runtime.Listen != "/d/run/klite-cri.sock" {
		t.Errorf("derived dirs = %s %s %s %s", o.RootDir, o.PodManifestPath, o.Runtime.Root, o.Runtime.Listen)
	}
}

// ServeCRI serves klite's runtime in a private network namespace and
// returns its socket (an "external" runtime for Run).
func ServeCRI(t *testing.T) string {
	t.Helper()
	netns := testnetns.New(t)
	cgroupRoot := fmt.Sprintf("/klite-appkubelet-test-%d", os.Getpid())
	svc, err := cri.New(cri.Config{Root: t.TempDir(), RuncRoot: t.TempDir(), Bridge: "kak0", PodSubnet: "10.82.0.0/24",
		HostNetNS: netns, NFTable: "klite_appkubelet_test", CgroupRoot: cgroupRoot, CNIConfDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "cri.sock")
	ln, err := cri.ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if sbs, err := svc.ListPodSandbox(context.Background(), &runtimeapi.ListPodSandboxRequest{}); err == nil {
			for _, sb := range sbs.Items {
				_, _ = svc.StopPodSandbox(context.Background(), &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.Id})
				_, _ = svc.RemovePodSandbox(context.Background(), &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.Id})
			}
		}
		_ = svc.RemoveNode()
		svc.Close()
		if cg, err := cgroups.Detect(); err == nil {
			if err := cg.Remove(cgroupRoot); err != nil {
				t.Errorf("cleanup cgroups: %v", err)
			}
		}
	})
	return sock
}

// TestRunWithExternalRuntime: Run registers the node and runs a pod
// through a CRI endpoint, and returns once ctx is cancelled.
func TestRunWithExternalRuntime(t *testing.T) {
	testimage.RequireBusybox(t)
	cluster := apiservertest.StartT(t, apiservertest.Options{})
	image := testimage.Registry(t) + "/library/busybox:1"
	testimage.Push(t, image, testimage.Busybox(t))
	o := NewOptions()
	o.DataDir, o.HostnameOverride, o.Port, o.ContainerRuntimeEndpoint = t.TempDir(), "App-Node", 0, ServeCRI(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cluster.Config, o) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	RunPodOnNode(t, cluster.Client, "app-node", image)
}

// RunPodOnNode waits for the node, then runs a pod on it to Running and
// deletes it again.
func RunPodOnNode(t *testing.T, client kubernetes.Interface, node, image string) {
	t.Helper()
	ctx := context.Background()
	waitFor(t, "node "+node, func() bool {
		n, err := client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		return err == nil && len(n.Status.Conditions) > 0
	})
	grace := int64(1) // graceful: the kubelet confirms once the container is gone
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p-" + node, Namespace: "default"},
		Spec: corev1.PodSpec{NodeName: node, TerminationGracePeriodSeconds: &grace, Containers: []corev1.Container{{Name: "c", Image: image,
			ImagePullPolicy: corev1.PullIfNotPresent, Command: []string{"sleep", "3600"}}}}}
	if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "pod Running", func() bool {
		p, err := client.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning
	})
	if err := client.CoreV1().Pods("default").Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "pod deleted", func() bool {
		_, err := client.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
		return err != nil
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestEvictionAndGCConfig(t *testing.T) {
	cases := []struct {
		name, evictionHard string
		want               []string
	}{
		{"defaults", kubelet.DefaultEvictionHard, []string{"memory.available<100Mi", "nodefs.available<10%", "imagefs.available<15%", "nodefs.inodesFree<5%"}},
		{"custom", "memory.available<1000Ti", []string{"memory.available<1000Ti"}},
		{"none", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions()
			o.DataDir, o.EvictionHard = t.TempDir(), tc.evictionHard
			o.ImageGCHighThresholdPercent, o.ImageGCLowThresholdPercent, o.ImageMinimumGCAge = 60, 50, time.Second
			o.complete()
			cfg, err := kubeletConfig(o, nil, slog.Default())
			if err != nil {
				t.Fatal(err)
			}
			if cfg.EvictionHard == nil {
				t.Fatal("EvictionHard is nil: the kubelet would apply its defaults")
			}
			var got []string
			for _, th := range cfg.EvictionHard {
				got = append(got, th.String())
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("EvictionHard = %v, want %v", got, tc.want)
			}
			if cfg.ImageGCHighThresholdPercent != 60 || cfg.ImageGCLowThresholdPercent != 50 || cfg.ImageMinimumGCAge != time.Second {
				t.Errorf("image GC config = %d %d %v", cfg.ImageGCHighThresholdPercent, cfg.ImageGCLowThresholdPercent, cfg.ImageMinimumGCAge)
			}
		})
	}
}
