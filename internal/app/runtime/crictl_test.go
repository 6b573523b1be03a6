package runtime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/klite/klite/internal/runtime/cgroups"
)

// crictl drives one rig with the real crictl binary.
type crictl struct {
	bin, config string
	r           *rig
}

func newCrictl(t *testing.T, r *rig) *crictl {
	t.Helper()
	bin := requireTool(t, "crictl")
	cfg := filepath.Join(t.TempDir(), "crictl.yaml")
	data := fmt.Sprintf("runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 60\n", r.sock, r.sock)
	if err := os.WriteFile(cfg, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return &crictl{bin: bin, config: cfg, r: r}
}

// try runs crictl and returns its stdout, stderr and error.
func (c *crictl) try(args ...string) (string, string, error) {
	cmd := exec.Command(c.bin, append([]string{"--config", c.config}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// run runs crictl and fails the test when it fails; it returns stdout.
func (c *crictl) run(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := c.try(args...)
	if err != nil {
		t.Fatalf("crictl %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// writeJSON writes a CRI config as crictl reads it (the API types' JSON).
func writeJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(t.TempDir(), "*.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

func (c *crictl) container(t *testing.T, pod, podFile, name string, cmd []string, mem int64) string {
	t.Helper()
	cfg := &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: name},
		Image: &runtimeapi.ImageSpec{Image: c.r.busybox}, Command: cmd, LogPath: name + ".log",
		Linux: &runtimeapi.LinuxContainerConfig{Resources: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: mem},
			// As the kubelet asks for it with seccompDefault: the workload runs under the allowlist.
			SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
				Seccomp: &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}}}}
	id := strings.TrimSpace(c.run(t, "create", pod, writeJSON(t, cfg), podFile))
	c.run(t, "start", id)
	return id
}

// inspect returns `crictl inspect` of a container: state, reason, exit code.
func (c *crictl) inspect(t *testing.T, id string) (state, reason string, exitCode int) {
	t.Helper()
	var v struct {
		Status struct {
			State    string `json:"state"`
			Reason   string `json:"reason"`
			ExitCode int    `json:"exitCode"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(c.run(t, "inspect", "-o", "json", id)), &v); err != nil {
		t.Fatal(err)
	}
	return v.Status.State, v.Status.Reason, v.Status.ExitCode
}

func (c *crictl) waitExited(t *testing.T, id string) (string, int) {
	t.Helper()
	var reason string
	var code int
	waitFor(t, 30*time.Second, "container "+id+" to exit", func() bool {
		var state string
		state, reason, code = c.inspect(t, id)
		return state == "CONTAINER_EXITED"
	})
	return reason, code
}

// TestCrictl drives `klite runtime` with crictl the way an operator would:
// pull, runp, create, start, ps, logs, exec, inspect, stop, rm, stopp, rmp.
func TestCrictl(t *testing.T) {
	t.Parallel() // its own runtime, network namespace, cgroup root and registry
	r := startRuntime(t, "crictl")
	c := newCrictl(t, r)
	if out := c.run(t, "version"); !strings.Contains(out, "RuntimeName:  klite") {
		t.Errorf("crictl version: %s", out)
	}
	c.run(t, "pull", r.busybox)
	if out := c.run(t, "images"); !strings.Contains(out, r.registry+"/library/busybox") {
		t.Errorf("crictl images lacks the pulled image:\n%s", out)
	}

	podCfg := &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "default", Uid: "crictl-uid-1"},
		Hostname: "crictl-host", LogDirectory: filepath.Join(r.dir, "pod-logs"),
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER}}},
	}
	podFile := writeJSON(t, podCfg)
	pod := strings.TrimSpace(c.run(t, "runp", podFile))
	if out := c.run(t, "pods", "-q", "--state", "ready"); strings.TrimSpace(out) != pod {
		t.Errorf("crictl pods = %q, want %s", out, pod)
	}

	marker := fmt.Sprintf("klite-crictl-marker-%d", time.Now().UnixNano())
	server := c.container(t, pod, podFile, "server", []string{"sh", "-c",
		"mkdir -p /www && echo served-by-server > /www/index.html && touch /" + marker + " /tmp/" + marker + " /root/" + marker +
			" && exec httpd -f -p 8080 -h /www"}, 0)
	client := c.container(t, pod, podFile, "client", []string{"sh", "-c",
		`for i in $(seq 200); do wget -q -O - http://127.0.0.1:8080/ && break; sleep 0.05; done; ` +
			`echo "host=$(hostname)"; ps -o comm | grep -q httpd && echo SEES-HTTPD; exec sleep 1000`}, 0)
	if out := c.run(t, "ps", "-q", "--pod", pod, "--state", "running"); len(strings.Fields(out)) != 2 {
		t.Errorf("crictl ps --state running = %q, want server and client", out)
	}

	checkLogs(t, c, client)
	checkExec(t, c, server, client)
	checkOOM(t, c, pod, podFile)
	checkFilesStayInDataDir(t, r, marker)

	pids := podProcs(t, r)
	c.run(t, "stop", "--timeout", "5", server)
	if state, _, _ := c.inspect(t, server); state != "CONTAINER_EXITED" {
		t.Errorf("server %s after crictl stop", state)
	}
	c.run(t, "rm", server)
	if out := c.run(t, "ps", "-a", "-q", "--pod", pod); strings.Contains(out, server) {
		t.Errorf("crictl ps -a lists the removed server: %q", out)
	}
	c.run(t, "stopp", pod)
	c.run(t, "rmp", pod)
	checkNothingLeaks(t, c, pids)
}

func checkLogs(t *testing.T, c *crictl, client string) {
	t.Helper()
	var out string
	waitFor(t, 20*time.Second, "the client's log", func() bool {
		out = c.run(t, "logs", client)
		return strings.Contains(out, "host=")
	})
	if !strings.Contains(out, "served-by-server") {
		t.Errorf("client did not reach the server on localhost; log:\n%s", out)
	}
	if !strings.Contains(out, "host=crictl-host") {
		t.Errorf("client's hostname is not the pod's; log:\n%s", out)
	}
	if strings.Contains(out, "SEES-HTTPD") {
		t.Errorf("client sees the server's processes without shareProcessNamespace; log:\n%s", out)
	}
}

func checkExec(t *testing.T, c *crictl, server, client string) {
	t.Helper()
	if out := c.run(t, "exec", server, "hostname"); strings.TrimSpace(out) != "crictl-host" {
		t.Errorf("crictl exec server hostname = %q", out)
	}
	if out := c.run(t, "exec", "--sync", client, "wget", "-q", "-O", "-", "http://127.0.0.1:8080/"); strings.TrimSpace(out) != "served-by-server" {
		t.Errorf("crictl exec --sync client wget = %q", out)
	}
	out := c.run(t, "exec", client, "ps", "-o", "comm")
	if strings.Contains(out, "httpd") || !strings.Contains(out, "sleep") {
		t.Errorf("client's processes = %q, want its own only (sleep, ps)", out)
	}
	if _, _, err := c.try("exec", server, "sh", "-c", "exit 3"); err == nil {
		t.Error("crictl exec of a failing command succeeded")
	}
	if out, errOut, err := c.try("exec", "--sync", server, "busybox", "unshare", "-U", "true"); err == nil ||
		!strings.Contains(out+errOut, "Operation not permitted") {
		t.Errorf("unshare -U under RuntimeDefault: %v %q %q, want EPERM", err, out, errOut)
	}
}

// checkOOM runs a container past its memory limit.
func checkOOM(t *testing.T, c *crictl, pod, podFile string) {
	t.Helper()
	hog := c.container(t, pod, podFile, "hog", []string{"dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"}, 32<<20)
	reason, code := c.waitExited(t, hog)
	if reason != "OOMKilled" || code != 137 {
		t.Errorf("hog exited %d %q, want 137 OOMKilled", code, reason)
	}
	c.run(t, "rm", hog)
}

// checkFilesStayInDataDir looks for the files the server wrote at /, /tmp
// and /root of its root filesystem: under the data dir (its writable
// layer) and nowhere at those places of any host mount.
func checkFilesStayInDataDir(t *testing.T, r *rig, marker string) {
	t.Helper()
	inData := 0
	_ = filepath.WalkDir(r.dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == marker && strings.Contains(p, "/upper/") {
			inData++
		}
		return nil
	})
	if inData != 3 {
		t.Errorf("found %d of the container's 3 files in its writable layer under the data dir", inData)
	}
	for _, mp := range hostMountPoints(t) {
		if strings.HasPrefix(mp, r.dir) {
			continue
		}
		for _, d := range []string{"", "tmp", "root"} {
			if _, err := os.Stat(filepath.Join(mp, d, marker)); err == nil {
				t.Errorf("container file on the host at %s", filepath.Join(mp, d, marker))
			}
		}
	}
}

func hostMountPoints(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 {
			out = append(out, f[4])
		}
	}
	return out
}

// podProcs lists the processes under the rig's cgroup root (pause processes and containers).
func podProcs(t *testing.T, r *rig) []int {
	t.Helper()
	m, err := cgroups.Detect()
	if err != nil {
		t.Fatal(err)
	}
	pids, err := m.Procs(r.cgroupRoot)
	if err != nil || len(pids) < 2 {
		t.Fatalf("processes in %s = %v, %v; want the pause and the client", r.cgroupRoot, pids, err)
	}
	return pids
}

// checkNothingLeaks checks, after rmp, for what a pod holds on the node:
// records, processes, shims, mounts, cgroups, veths, addresses, runc state.
func checkNothingLeaks(t *testing.T, c *crictl, pids []int) {
	t.Helper()
	r := c.r
	if out := c.run(t, "pods", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("crictl pods after rmp: %q", out)
	}
	if out := c.run(t, "ps", "-a", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("crictl ps -a after rmp: %q", out)
	}
	for _, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("pod process %d still alive", pid)
		}
	}
	checkNoShims(t, r.dir, r.pid)
	if b, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(b), r.dir) {
		t.Error("mounts under the data dir left")
	}
	checkNoPodCgroups(t, r.cgroupRoot)
	checkNoVeths(t, r.netns)
	if ips, _ := filepath.Glob(filepath.Join(r.dir, "ipam", "*", "10.*")); len(ips) != 0 {
		t.Errorf("addresses still allocated: %v", ips)
	}
	if ents, _ := os.ReadDir(r.runcRoot); len(ents) != 0 {
		t.Errorf("runc state left: %v", ents)
	}
}

// checkNoShims looks for processes other than the runtime whose command
// line names the data dir (shims).
func checkNoShims(t *testing.T, dir string, runtimePID int) {
	t.Helper()
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		if pid, err := strconv.Atoi(p.Name()); err != nil || pid == runtimePID {
			continue
		}
		b, _ := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if bytes.Contains(b, []byte(dir)) {
			t.Errorf("process %s left: %q", p.Name(), strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
}

func checkNoPodCgroups(t *testing.T, root string) {
	t.Helper()
	m, err := cgroups.Detect()
	if err != nil {
		t.Fatal(err)
	}
	pids, _ := m.Procs(root)
	if len(pids) != 0 {
		t.Errorf("processes left in %s: %v", root, pids)
	}
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + root) // every v1 hierarchy and the hybrid unified one
	for _, dir := range append(dirs, "/sys/fs/cgroup"+root) {
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() && strings.HasPrefix(d.Name(), "pod") {
				t.Errorf("pod cgroup left: %s", p)
			}
			return nil
		})
	}
}

func checkNoVeths(t *testing.T, nsPath string) {
	t.Helper()
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if l.Type() == "veth" {
			t.Errorf("veth %s left on the node", l.Attrs().Name)
		}
	}
}
