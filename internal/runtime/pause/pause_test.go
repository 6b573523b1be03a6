package pause

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/klite/klite/internal/runtime/proc"
)

// hostNS holds the test process's namespaces, read before any test moves a
// thread (a goroutine that dies locked on the main thread leaves it behind).
var hostNS = map[string]string{}

func TestMain(m *testing.M) {
	if MaybeRun() {
		return
	}
	for _, ns := range []string{"net", "uts", "ipc", "pid", "pid_for_children"} {
		hostNS[ns], _ = os.Readlink("/proc/self/ns/" + ns)
	}
	os.Exit(m.Run())
}

func nsOf(t *testing.T, pid int, ns string) string {
	t.Helper()
	l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestStartCreatesNamespaces(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      Config
		newNS    []string
		hostNS   []string
		hostname string
	}{
		{name: "pod", cfg: Config{Hostname: "web-1"}, newNS: []string{"net", "uts", "ipc"}, hostNS: []string{"pid"}, hostname: "web-1"},
		{name: "shared pid", cfg: Config{Hostname: "p", NewPID: true}, newNS: []string{"net", "uts", "ipc", "pid_for_children"}},
		{name: "host network", cfg: Config{HostNetwork: true, Hostname: "must-not-rename-host"}, newNS: []string{"ipc"}, hostNS: []string{"net", "uts"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Start(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = Kill(p.Pid, 5*time.Second) })
			for _, ns := range tc.newNS {
				if nsOf(t, p.Pid, ns) == hostNS[ns] {
					t.Errorf("%s namespace shared with the host", ns)
				}
			}
			for _, ns := range tc.hostNS {
				if nsOf(t, p.Pid, ns) != hostNS[ns] {
					t.Errorf("%s namespace not the host's", ns)
				}
			}
			if tc.cfg.HostNetwork {
				if h, _ := os.Hostname(); h == tc.cfg.Hostname {
					t.Error("host network pause renamed the host")
				}
			}
			if tc.hostname != "" {
				// /proc/<pid>/root/etc/hostname is the host's; ask the UTS ns instead.
				if got := hostnameOf(t, p.Pid); got != tc.hostname {
					t.Errorf("hostname %q, want %q", got, tc.hostname)
				}
			}
			if err := Kill(p.Pid, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			select {
			case <-p.Wait():
			case <-time.After(5 * time.Second):
				t.Fatal("pause not reaped")
			}
			if proc.Alive(p.Pid) {
				t.Error("pause alive after Kill")
			}
		})
	}
}
