package cri

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

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

type clients struct {
	rt  runtimeapi.RuntimeServiceClient
	img runtimeapi.ImageServiceClient
	svc *Service
}

// serve starts a Service on a unix socket and returns gRPC clients for it.
func serve(t testing.TB) clients {
	t.Helper()
	return serveWith(t, t.TempDir(), "") // an empty CNI dir: klite's own bridge; the built-in runtime
}

// serveWith serves a runtime using the CNI configurations in cniConfDir
// and the OCI runtime binary runc ("": the built-in one).
func serveWith(t testing.TB, cniConfDir, runc string) clients {
	t.Helper()
	testimage.RequireBusybox(t)
	cgroupRoot := fmt.Sprintf("/klite-test-%d", os.Getpid())
	svc, err := New(Config{Root: t.TempDir(), RuncPath: runc, RuncRoot: t.TempDir(), Bridge: "kcri0", PodSubnet: "10.80.0.0/24",
		HostNetNS: testnetns.New(t), NFTable: "klite_test", CgroupRoot: cgroupRoot, CNIConfDir: cniConfDir})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "cri.sock")
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	ln, err := ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	go func() { served <- svc.Serve(ctx, ln) }()
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		_ = svc.RemoveNode()
		svc.Close()
		if err := svc.cgroups.Remove(cgroupRoot); err != nil {
			t.Errorf("cleanup cgroups: %v", err)
		}
	})
	return clients{rt: runtimeapi.NewRuntimeServiceClient(conn), img: runtimeapi.NewImageServiceClient(conn), svc: svc}
}

func TestCRIPodLifecycle(t *testing.T) {
	c := serve(t)
	ctx := context.Background()
	v, err := c.rt.Version(ctx, &runtimeapi.VersionRequest{})
	if err != nil || v.RuntimeName != "klite" || v.RuntimeApiVersion != "v1" {
		t.Fatalf("Version = %v, %v", v, err)
	}
	rc, err := c.rt.RuntimeConfig(ctx, &runtimeapi.RuntimeConfigRequest{})
	if err != nil || rc.Linux.CgroupDriver != runtimeapi.CgroupDriver_CGROUPFS {
		t.Errorf("RuntimeConfig = %v, %v; want the cgroupfs driver", rc, err)
	}

	ref := pullBusybox(t, c)
	podCfg := &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: "pod", Namespace: "default", Uid: "uid-1"},
		Hostname: "shared-host", LogDirectory: t.TempDir(), Labels: map[string]string{"app": "web"},
		// As the kubelet sends it for a pod without shareProcessNamespace.
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER}}},
	}
	run, err := c.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: podCfg})
	if err != nil {
		t.Fatal(err)
	}
	pod := run.PodSandboxId
	pst, err := c.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: pod})
	if err != nil || pst.Status.State != runtimeapi.PodSandboxState_SANDBOX_READY || !strings.HasPrefix(pst.Status.Network.Ip, "10.80.0.") {
		t.Fatalf("PodSandboxStatus = %v, %v", pst, err)
	}

	server := createStart(t, c, pod, podCfg, "server", ref, []string{"httpd", "-f", "-p", "8080", "-h", "/etc"})
	client := createStart(t, c, pod, podCfg, "client", ref, []string{"sh", "-c",
		`for i in $(seq 100); do wget -q -O - http://127.0.0.1:8080/hostname && break; sleep 0.05; done; ` +
			`echo "own=$(hostname)"; echo "procs=$(ps -o comm | grep -c -v COMMAND)"; ps -o comm | grep -q httpd && echo SEES-HTTPD; exit 0`})
	cst := waitExited(t, c, client)
	if cst.ExitCode != 0 || cst.Reason != "Completed" {
		t.Errorf("client exit %d %s", cst.ExitCode, cst.Reason)
	}
	logs, _ := os.ReadFile(cst.LogPath)
	for _, want := range []string{"stdout F shared-host", "stdout F own=shared-host"} {
		if !strings.Contains(string(logs), want) {
			t.Errorf("client log lacks %q (localhost or hostname not shared):\n%s", want, logs)
		}
	}
	if strings.Contains(string(logs), "SEES-HTTPD") {
		t.Errorf("client sees the server's processes:\n%s", logs)
	}

	checkExecSync(t, c, server)
	checkUpdateResources(t, c, server)
	checkStreamingExec(t, c, server)
	checkPortForward(t, c, pod)
	checkAttach(t, c, pod, podCfg, ref)
	checkStats(t, c, pod, server)
	checkReopenLog(t, c, server)

	_, err = c.img.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: ref}})
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("RemoveImage of an image in use: %v, want FailedPrecondition", err)
	}
	if _, err := c.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: pod}); err != nil {
		t.Fatal(err)
	}
	sst, _ := c.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: server})
	if sst.Status.State != runtimeapi.ContainerState_CONTAINER_EXITED {
		t.Errorf("server %s after StopPodSandbox", sst.Status.State)
	}
	if _, err := c.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: pod}); err != nil {
		t.Fatal(err)
	}
	checkNothingLeft(t, c)
	if _, err := c.img.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: ref}}); err != nil {
		t.Fatal(err)
	}
	if l, _ := c.img.ListImages(ctx, &runtimeapi.ListImagesRequest{}); len(l.Images) != 0 {
		t.Errorf("images after RemoveImage: %v", l.Images)
	}
}

func pullBusybox(t testing.TB, c clients) string {
	t.Helper()
	ctx := context.Background()
	ref := testimage.Registry(t) + "/library/busybox:1"
	testimage.Push(t, ref, testimage.Busybox(t))
	st, err := c.img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: ref}})
	if err != nil || st.Image != nil {
		t.Fatalf("status before pull = %v, %v; want nil image", st, err)
	}
	p, err := c.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: ref}})
	if err != nil {
		t.Fatal(err)
	}
	st, err = c.img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: ref}})
	if err != nil || st.Image.Id != p.ImageRef || st.Image.RepoTags[0] != ref || st.Image.Size == 0 {
		t.Fatalf("status after pull = %v, %v", st, err)
	}
	fs, err := c.img.ImageFsInfo(ctx, &runtimeapi.ImageFsInfoRequest{})
	if err != nil || fs.ImageFilesystems[0].UsedBytes.Value == 0 {
		t.Errorf("ImageFsInfo = %v, %v", fs, err)
	}
	return ref
}

func createStart(t testing.TB, c clients, pod string, podCfg *runtimeapi.PodSandboxConfig, name, ref string, cmd []string) string {
	t.Helper()
	ctx := context.Background()
	cr, err := c.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: podCfg,
		Config: &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: name},
			Image: &runtimeapi.ImageSpec{Image: ref}, Command: cmd, LogPath: name + "/0.log"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: cr.ContainerId}); err != nil {
		t.Fatal(err)
	}
	return cr.ContainerId
}

func waitExited(t *testing.T, c clients, id string) *runtimeapi.ContainerStatus {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		st, err := c.rt.ContainerStatus(context.Background(), &runtimeapi.ContainerStatusRequest{ContainerId: id})
		if err != nil {
			t.Fatal(err)
		}
		if st.Status.State == runtimeapi.ContainerState_CONTAINER_EXITED {
			return st.Status
		}
	}
	t.Fatalf("container %s did not exit", id)
	return nil
}

func checkExecSync(t *testing.T, c clients, id string) {
	t.Helper()
	ctx := context.Background()
	r, err := c.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"cat", "/etc/hostname"}, Timeout: 10})
	if err != nil || string(r.Stdout) != "shared-host\n" || r.ExitCode != 0 {
		t.Errorf("ExecSync cat = %v, %v", r, err)
	}
	r, err = c.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"sh", "-c", "echo e >&2; exit 7"}})
	if err != nil || r.ExitCode != 7 || string(r.Stderr) != "e\n" {
		t.Errorf("ExecSync exit 7 = %v, %v", r, err)
	}
	_, err = c.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: "no-such-container"})
	if status.Code(err) != codes.NotFound {
		t.Errorf("status of unknown container: %v, want NotFound", err)
	}
	if _, err := c.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"sleep", "60"}, Timeout: 1}); err == nil {
		t.Error("ExecSync of sleep 60 with a 1s timeout did not time out")
	}
	r, err = c.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"ps", "-o", "comm"}, Timeout: 10})
	if err != nil || strings.Contains(string(r.Stdout), "sleep") {
		t.Errorf("processes after the timed-out exec = %q, %v; want no sleep left", r.GetStdout(), err)
	}
	// Stop and remove are idempotent: a gone container is stopped and removed.
	if _, err := c.rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: "no-such-container"}); err != nil {
		t.Errorf("StopContainer of an unknown container: %v", err)
	}
	if _, err := c.rt.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: "no-such-container"}); err != nil {
		t.Errorf("RemoveContainer of an unknown container: %v", err)
	}
}

func checkStats(t *testing.T, c clients, pod, id string) {
	t.Helper()
	ctx := context.Background()
	cs, err := c.rt.ContainerStats(ctx, &runtimeapi.ContainerStatsRequest{ContainerId: id})
	if err != nil || cs.Stats.Memory.GetUsageBytes().GetValue() == 0 || cs.Stats.WritableLayer == nil {
		t.Errorf("ContainerStats = %v, %v", cs, err)
	}
	ps, err := c.rt.PodSandboxStats(ctx, &runtimeapi.PodSandboxStatsRequest{PodSandboxId: pod})
	if err != nil || ps.Stats.Linux.Process.ProcessCount.Value < 2 || len(ps.Stats.Linux.Containers) != 1 {
		t.Errorf("PodSandboxStats = %v, %v", ps, err)
	}
}

func checkReopenLog(t *testing.T, c clients, id string) {
	t.Helper()
	ctx := context.Background()
	st, _ := c.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err := os.Rename(st.Status.LogPath, st.Status.LogPath+".1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.rt.ReopenContainerLog(ctx, &runtimeapi.ReopenContainerLogRequest{ContainerId: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(st.Status.LogPath); err != nil {
		t.Errorf("log not reopened: %v", err)
	}
}

func checkNothingLeft(t *testing.T, c clients) {
	t.Helper()
	ctx := context.Background()
	pods, _ := c.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	ctrs, _ := c.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if len(pods.Items) != 0 || len(ctrs.Containers) != 0 {
		t.Errorf("left %d sandboxes, %d containers", len(pods.Items), len(ctrs.Containers))
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	// Only this service's own mounts: other packages' tests may run containers at the same time.
	root := filepath.Dir(c.svc.images.Root())
	if strings.Contains(string(mounts), c.svc.images.Root()) || strings.Contains(string(mounts), filepath.Join(root, "containers")+"/") {
		t.Error("overlay mounts left")
	}
}

func TestCRINamespaceModes(t *testing.T) {
	c := serve(t)
	ctx := context.Background()
	ref := pullBusybox(t, c)
	for _, tc := range []struct {
		name      string
		ns        *runtimeapi.NamespaceOption
		seesSleep bool
		podIP     bool
	}{
		{name: "shareProcessNamespace", ns: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_POD}, seesSleep: true, podIP: true},
		{name: "per-container pid", ns: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER}, podIP: true},
		{name: "hostNetwork", ns: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE, Pid: runtimeapi.NamespaceMode_CONTAINER}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			podCfg := &runtimeapi.PodSandboxConfig{
				Metadata: &runtimeapi.PodSandboxMetadata{Name: "ns", Namespace: "default", Uid: tc.name},
				Hostname: "ns-pod", LogDirectory: t.TempDir(),
				Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: tc.ns}},
			}
			run, err := c.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: podCfg})
			if err != nil {
				t.Fatal(err)
			}
			defer c.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: run.PodSandboxId})
			pst, _ := c.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: run.PodSandboxId})
			if got := pst.Status.Network.Ip != ""; got != tc.podIP {
				t.Errorf("pod IP %q, want one: %v", pst.Status.Network.Ip, tc.podIP)
			}
			createStart(t, c, run.PodSandboxId, podCfg, "sleeper", ref, []string{"sleep", "1000"})
			probe := createStart(t, c, run.PodSandboxId, podCfg, "probe", ref, []string{"sh", "-c",
				"for i in $(seq 50); do ps -o args | grep -q '^sleep 1000' && echo SEES-SLEEP && exit 0; sleep 0.05; done; echo ALONE"})
			st := waitExited(t, c, probe)
			logs, _ := os.ReadFile(st.LogPath)
			if got := strings.Contains(string(logs), "SEES-SLEEP"); got != tc.seesSleep {
				t.Errorf("probe sees the other container's process: %v, want %v\n%s", got, tc.seesSleep, logs)
			}
			if _, err := c.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: run.PodSandboxId}); err != nil {
				t.Fatal(err)
			}
		})
	}
	checkNothingLeft(t, c)
}

func checkUpdateResources(t *testing.T, c clients, id string) {
	t.Helper()
	ctx := context.Background()
	_, err := c.rt.UpdateContainerResources(ctx, &runtimeapi.UpdateContainerResourcesRequest{ContainerId: id,
		Linux: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 48 << 20, CpuQuota: 20000, CpuPeriod: 100000}})
	if err != nil {
		t.Fatal(err)
	}
	// The container sees its own cgroup at /sys/fs/cgroup.
	script := "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"
	r, err := c.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"sh", "-c", script}})
	if err != nil || strings.TrimSpace(string(r.Stdout)) != fmt.Sprint(48<<20) {
		t.Errorf("memory limit inside after update = %q, %v", r.GetStdout(), err)
	}
}
