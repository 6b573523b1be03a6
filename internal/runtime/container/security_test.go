package container

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klite/klite/internal/runtime/sandbox"
)

// The capability set of oci.DefaultCapabilities, as /proc/self/status shows it.
const defaultCapEff = "00000000a80425fb"

func TestSecurityDefaultsAndIsolation(t *testing.T) {
	e := newEnv(t)
	sb := e.pod(t, sandbox.Config{Name: "sec", Namespace: "default", UID: "u7", Hostname: "sec"})
	marker := "klite-marker-" + filepath.Base(t.TempDir())
	blockChmod := filepath.Join(t.TempDir(), "block-chmod.json")
	profile := `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod", "fchmodat", "fchmodat2"], "action": "SCMP_ACT_ERRNO"}]}`
	if err := os.WriteFile(blockChmod, []byte(profile), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		cfg    Config
		script string
		want   []string
	}{
		{
			name: "defaults",
			script: `grep -E '^(NoNewPrivs|CapEff|Seccomp)' /proc/self/status; echo "masked=$(wc -c < /proc/timer_list)"; ` +
				`(echo x > /proc/sys/kernel/domainname) 2>/dev/null || echo proc-sys-ro; ` +
				`touch /` + marker + ` && echo root-writable`,
			want: []string{"Seccomp:\t0", "NoNewPrivs:\t0", "CapEff:\t" + defaultCapEff, "masked=0", "proc-sys-ro", "root-writable"},
		},
		{
			name:   "no_new_privs asked for",
			cfg:    Config{NoNewPrivs: true, Seccomp: true},
			script: `grep -E '^(NoNewPrivs|Seccomp)' /proc/self/status`,
			want:   []string{"NoNewPrivs:\t1", "Seccomp:\t2"},
		},
		{
			name:   "own masked and read-only paths",
			cfg:    Config{MaskedPaths: []string{"/etc/group"}, ReadonlyPaths: []string{"/tmp"}},
			script: `echo "group=$(wc -c < /etc/group)"; touch /tmp/x 2>/dev/null || echo tmp-ro`,
			want:   []string{"group=0", "tmp-ro"},
		},
		{
			name:   "seccomp without no_new_privs for a non-root user",
			cfg:    Config{RunAsUser: ptr(1000), Seccomp: true},
			script: `grep -E '^(NoNewPrivs|Seccomp)' /proc/self/status; ` + try("unshare", "busybox unshare -U true"),
			want:   []string{"NoNewPrivs:\t0", "Seccomp:\t2", "unshare: EPERM"},
		},
		{
			name:   "seccomp RuntimeDefault",
			cfg:    Config{Seccomp: true},
			script: `grep '^Seccomp:' /proc/self/status; echo still-works; ` + try("unshare", "busybox unshare -U true"),
			want:   []string{"Seccomp:\t2", "still-works", "unshare: EPERM"},
		},
		{
			name:   "localhost seccomp profile",
			cfg:    Config{SeccompProfile: blockChmod, Seccomp: true},
			script: `grep '^Seccomp:' /proc/self/status; ` + try("chmod", "chmod 700 /tmp") + try("unshare", "busybox unshare -U true"),
			want:   []string{"Seccomp:\t2", "chmod: EPERM", "unshare: ok"},
		},
		{
			name:   "unconfined creates a user namespace",
			script: try("unshare", "busybox unshare -U true"),
			want:   []string{"unshare: ok"},
		},
		{
			name:   "privileged is never filtered",
			cfg:    Config{Seccomp: true, Privileged: true},
			script: `grep '^Seccomp:' /proc/self/status; ` + try("unshare", "busybox unshare -U true"),
			want:   []string{"Seccomp:\t0", "unshare: ok"},
		},
		{
			name:   "seccomp lets CAP_SYS_ADMIN mount",
			cfg:    Config{Seccomp: true, CapAdd: []string{"SYS_ADMIN"}},
			script: `mkdir -p /tmp/m; ` + try("mount", "mount -t tmpfs none /tmp/m"),
			want:   []string{"mount: ok"},
		},
		{
			name:   "seccomp blocks swapon despite CAP_SYS_ADMIN",
			cfg:    Config{Seccomp: true, CapAdd: []string{"SYS_ADMIN"}},
			script: try("swapon", "busybox swapon /etc/passwd"),
			want:   []string{"swapon: EPERM"},
		},
		{
			name:   "CAP_SYS_ADMIN without seccomp reaches swapon",
			cfg:    Config{CapAdd: []string{"SYS_ADMIN"}},
			script: try("swapon", "busybox swapon /etc/passwd"),
			want:   []string{"swapon: EINVAL"},
		},
		{
			name:   "CAP_SYS_ADMIN without seccomp mounts",
			cfg:    Config{CapAdd: []string{"SYS_ADMIN"}},
			script: `mkdir -p /tmp/m; ` + try("mount", "mount -t tmpfs none /tmp/m"),
			want:   []string{"mount: ok"},
		},
		{
			name:   "readOnlyRootFilesystem",
			cfg:    Config{ReadOnlyRootfs: true},
			script: `touch /x 2>/dev/null || echo root-ro; echo ok > /tmp/y 2>/dev/null || echo tmp-ro`,
			want:   []string{"root-ro", "tmp-ro"},
		},
		{
			name:   "privileged",
			cfg:    Config{Privileged: true},
			script: `grep -E '^(NoNewPrivs|CapEff)' /proc/self/status`,
			want:   []string{"NoNewPrivs:\t0", "CapEff:\t" + hostCapBnd(t)},
		},
		{
			name:   "runAsGroup and dropped capabilities",
			cfg:    Config{RunAsUser: ptr(1000), RunAsGroup: ptr(3000), CapDrop: []string{"ALL"}},
			script: `echo "ids=$(id -u):$(id -g)"; grep '^CapEff' /proc/self/status`,
			want:   []string{"ids=1000:3000", "CapEff:\t0000000000000000"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Name = strings.ReplaceAll(tc.name, " ", "-")
			cfg.Command = []string{"sh", "-c", tc.script}
			c := e.run(t, sb, cfg)
			got := e.waitExited(t, c.ID, 10*time.Second)
			lines := logLines(t, got.LogPath)
			for _, w := range tc.want {
				if !contains(lines, "stdout "+w) {
					t.Errorf("log lacks %q: %q", w, lines)
				}
			}
			if tc.name == "defaults" {
				if _, err := os.Stat(filepath.Join(got.Dir, "fs", "upper", marker)); err != nil {
					t.Errorf("container write not in its upper dir: %v", err)
				}
				for _, l := range e.cfg.Images.LowerDirs(mustImage(t, e)) {
					if _, err := os.Stat(filepath.Join(l, marker)); err == nil {
						t.Error("container write reached an image layer")
					}
				}
				if _, err := os.Stat("/" + marker); err == nil {
					t.Error("container write reached the host's /")
				}
			}
		})
	}
}

func ptr(v int64) *int64 { return &v }

// try is a shell snippet printing "<label>: ok", "<label>: EPERM",
// "<label>: EINVAL" or "<label>: <message>" for how cmd ended.
func try(label, cmd string) string {
	return `out=$(` + cmd + ` 2>&1) && echo "` + label + `: ok" || case "$out" in ` +
		`*"not permitted"*) echo "` + label + `: EPERM";; *"Invalid argument"*) echo "` + label + `: EINVAL";; ` +
		`*) echo "` + label + `: $out";; esac; `
}

// hostCapBnd is the runtime's bounding set, all a privileged container gets.
func hostCapBnd(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapBnd:\t"); ok {
			return v
		}
	}
	t.Fatal("no CapBnd")
	return ""
}

func TestPodSysctlsAndGroups(t *testing.T) {
	e := newEnv(t)
	sb := e.pod(t, sandbox.Config{Name: "sysctl", Namespace: "default", UID: "u8", Hostname: "sysctl",
		Sysctls: map[string]string{"kernel.shm_rmid_forced": "1", "net.ipv4.ip_unprivileged_port_start": "80"}})
	c := e.run(t, sb, Config{Name: "reader", RunAsUser: ptr(1000), SupplementalGroups: []int64{1234, 5678},
		Command: []string{"sh", "-c", "echo shm=$(cat /proc/sys/kernel/shm_rmid_forced) port=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start); echo groups=$(id -G)"}})
	got := e.waitExited(t, c.ID, 10*time.Second)
	lines := logLines(t, got.LogPath)
	for _, w := range []string{"stdout shm=1 port=80", "stdout groups=0 1234 5678"} {
		if !contains(lines, w) {
			t.Errorf("log lacks %q: %q", w, lines)
		}
	}
	if b, _ := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start"); strings.TrimSpace(string(b)) == "80" {
		t.Error("the pod's net sysctl reached the host")
	}
}

func TestMissingSeccompProfile(t *testing.T) {
	e := newEnv(t)
	sb := e.pod(t, sandbox.Config{Name: "nosec", Namespace: "default", UID: "u9", Hostname: "nosec"})
	_, err := e.containers.Create(Config{Name: "c", Image: e.image, Command: []string{"true"},
		SeccompProfile: filepath.Join(t.TempDir(), "missing.json")}, sb)
	if err == nil || !strings.Contains(err.Error(), "seccomp profile") {
		t.Errorf("Create with a missing profile: %v, want a seccomp profile error", err)
	}
}
