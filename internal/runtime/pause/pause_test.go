package pause

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klite/klite/internal/runtime/proc"
)

// hostNS holds the test process's namespaces, read before any test moves a
// thread (a goroutine that dies locked on the main thread leaves it behind).
var hostNS = map[string]string{}

func TestMain(m *testing.M) {
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

// A pod's infra process must stay small: it runs before the Go runtime, so
// it holds no Go heap and no runtime threads (the Go version held ~9 MiB of
// anonymous memory and five threads).
func TestPauseIsSmall(t *testing.T) {
	p, err := Start(Config{Hostname: "small", NewPID: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Kill(p.Pid, 5*time.Second) })
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid))
	if err != nil {
		t.Fatal(err)
	}
	var anonKB, threads int
	for _, line := range strings.Split(string(status), "\n") {
		fmt.Sscanf(line, "RssAnon: %d kB", &anonKB)
		fmt.Sscanf(line, "Threads: %d", &threads)
	}
	t.Logf("pause: %d KiB anonymous, %d thread(s)", anonKB, threads)
	if threads != 1 {
		t.Errorf("pause runs %d threads, want 1", threads)
	}
	if anonKB == 0 || anonKB > 1024 {
		t.Errorf("pause holds %d KiB of anonymous memory, want at most 1 MiB", anonKB)
	}
}

// SIGTERM ends the pause process, also as PID 1 of its own PID namespace
// (where the kernel drops signals a process has no handler for).
func TestPauseStopsOnSIGTERM(t *testing.T) {
	for _, newPID := range []bool{false, true} {
		p, err := Start(Config{Hostname: "term", NewPID: newPID})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = Kill(p.Pid, 5*time.Second) })
		if err := syscall.Kill(p.Pid, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-p.Wait():
		case <-time.After(5 * time.Second):
			t.Errorf("new PID namespace %v: pause ignored SIGTERM", newPID)
		}
	}
}

func TestStartReportsSetupErrors(t *testing.T) {
	// A hostname longer than the kernel's 64 bytes is refused by sethostname.
	_, err := Start(Config{Hostname: strings.Repeat("h", 65)})
	if err == nil || !strings.Contains(err.Error(), "sethostname") {
		t.Fatalf("err = %v, want the pause process's sethostname error", err)
	}
}
