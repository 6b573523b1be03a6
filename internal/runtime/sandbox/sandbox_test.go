package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klite/klite/internal/runtime/cgroups"
	"github.com/klite/klite/internal/runtime/network"
	"github.com/klite/klite/internal/runtime/proc"
	"github.com/klite/klite/internal/runtime/testnetns"
)

// hostNet is the test process's network namespace, read before any test
// moves a thread.
var hostNet string

func TestMain(m *testing.M) {
	hostNet, _ = os.Readlink("/proc/self/ns/net")
	os.Exit(m.Run())
}

type env struct {
	root, cgroupRoot string
	cg               *cgroups.Manager
	net              *network.Manager
}

func newEnv(t *testing.T) *env {
	t.Helper()
	cg, err := cgroups.Detect()
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	nm, err := network.New(network.Config{Bridge: "ksbx0", Subnet: "10.78.0.0/24",
		StateDir: t.TempDir(), HostNetNS: testnetns.New(t), Table: "klite_test"})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{root: t.TempDir(), cgroupRoot: fmt.Sprintf("/klite-test-%d", os.Getpid()), cg: cg, net: nm}
	t.Cleanup(func() {
		_ = nm.RemoveNode()
		nm.Close()
		if err := cg.Remove(e.cgroupRoot); err != nil {
			t.Errorf("cleanup cgroups: %v", err)
		}
	})
	return e
}

func (e *env) manager(t *testing.T) *Manager {
	t.Helper()
	m, err := NewManager(ManagerConfig{Root: e.root, Network: e.net, Cgroups: e.cg, CgroupRoot: e.cgroupRoot})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSandboxLifecycle(t *testing.T) {
	e := newEnv(t)
	m := e.manager(t)
	a, err := m.Run(Config{Name: "a", Namespace: "default", UID: "uid-a", Hostname: "pod-a", QoS: Burstable,
		DNS: DNS{Servers: []string{"10.43.0.10"}, Searches: []string{"default.svc.cluster.local"}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Run(Config{Name: "b", Namespace: "default", UID: "uid-b", Hostname: "pod-b", QoS: BestEffort})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Remove(a.ID); _ = m.Remove(b.ID) })

	if a.IP == "" || a.IP == b.IP || a.State != Ready {
		t.Fatalf("a=%+v b=%+v", a, b)
	}
	if want := e.cgroupRoot + "/burstable/poduid-a"; a.Cgroup != want {
		t.Errorf("cgroup %s, want %s", a.Cgroup, want)
	}
	if procs, _ := e.cg.Procs(a.Cgroup); len(procs) != 1 || procs[0] != a.PausePID {
		t.Errorf("pod cgroup holds %v, want the pause process %d", procs, a.PausePID)
	}
	if hostNet == mustReadlink(t, a.NamespacePath("net")) {
		t.Error("pod shares the host network namespace")
	}
	checkFile(t, a.EtcFiles()["/etc/hostname"], "pod-a\n")
	checkFile(t, a.EtcFiles()["/etc/resolv.conf"], "nameserver 10.43.0.10\nsearch default.svc.cluster.local\n")
	if hosts, _ := os.ReadFile(a.EtcFiles()["/etc/hosts"]); !strings.Contains(string(hosts), a.IP+"\tpod-a") {
		t.Errorf("hosts file lacks the pod: %s", hosts)
	}

	// A restarted runtime finds both sandboxes ready.
	again := e.manager(t)
	if got := again.List(); len(got) != 2 || got[0].ID != a.ID || got[0].State != Ready || got[1].State != Ready {
		t.Fatalf("after reload List = %+v", got)
	}

	if err := again.Stop(a.ID); err != nil {
		t.Fatal(err)
	}
	if proc.Alive(a.PausePID) {
		t.Error("pause alive after Stop")
	}
	if got, _ := again.Get(a.ID); got.State != NotReady {
		t.Errorf("state after Stop = %s", got.State)
	}
	if err := again.Remove(a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := again.Get(a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Remove: %v", err)
	}
	if e.cg.Exists(a.Cgroup) {
		t.Error("pod cgroup left after Remove")
	}
	if _, err := os.Stat(a.Dir); !os.IsNotExist(err) {
		t.Error("sandbox dir left after Remove")
	}
	if err := again.Remove(a.ID); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	// The freed address is not handed to the next pod at once.
	c, err := again.Run(Config{Name: "c", Namespace: "default", UID: "uid-c", Hostname: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if c.IP == a.IP || c.IP == b.IP {
		t.Errorf("c got %s, a had %s, b has %s", c.IP, a.IP, b.IP)
	}
	for _, id := range []string{b.ID, c.ID} {
		if err := again.Remove(id); err != nil {
			t.Fatal(err)
		}
	}
}

func TestHostNetworkSandbox(t *testing.T) {
	e := newEnv(t)
	m := e.manager(t)
	sb, err := m.Run(Config{Name: "h", Namespace: "kube-system", UID: "uid-h", Hostname: "ignored", HostNetwork: true, QoS: Guaranteed})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Remove(sb.ID)
	if sb.IP != "" {
		t.Errorf("hostNetwork sandbox got IP %s", sb.IP)
	}
	if hostNet != mustReadlink(t, sb.NamespacePath("net")) {
		t.Error("hostNetwork sandbox has its own network namespace")
	}
	if want := e.cgroupRoot + "/poduid-h"; sb.Cgroup != want {
		t.Errorf("guaranteed cgroup %s, want %s", sb.Cgroup, want)
	}
	host, _ := os.Hostname()
	checkFile(t, sb.EtcFiles()["/etc/hostname"], host+"\n")
	if err := m.Remove(sb.ID); err != nil {
		t.Fatal(err)
	}
}

func TestRunFailureLeavesNothing(t *testing.T) {
	e := newEnv(t)
	m, err := NewManager(ManagerConfig{Root: e.root, Cgroups: e.cg, CgroupRoot: e.cgroupRoot})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Run(Config{Name: "x", UID: "x"}); err == nil {
		t.Fatal("pod network without a network manager succeeded")
	}
	if entries, _ := os.ReadDir(e.root); len(entries) != 0 {
		t.Errorf("left %d entries in the sandbox root", len(entries))
	}
	if e.cg.Exists(filepath.Join(e.cgroupRoot, "burstable", "podx")) {
		t.Error("left a cgroup")
	}
}

func mustReadlink(t *testing.T, p string) string {
	t.Helper()
	l, err := os.Readlink(p)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func checkFile(t *testing.T, path, want string) {
	t.Helper()
	if b, err := os.ReadFile(path); err != nil || string(b) != want {
		t.Errorf("%s = %q, %v; want %q", filepath.Base(path), b, err, want)
	}
}
