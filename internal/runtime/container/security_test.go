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
			want: []string{"Seccomp:\t0", "NoNewPrivs:\t1", "CapEff:\t" + defaultCapEff, "masked=0", "proc-sys-ro", "root-writable"},
		},
		{
			name:   "seccomp RuntimeDefault",
			cfg:    Config{Seccomp: true},
			script: `grep '^Seccomp:' /proc/self/status; echo still-works`,
			want:   []string{"Seccomp:\t2", "still-works"},
		},
		{
			name:   "seccomp blocks mount despite CAP_SYS_ADMIN",
			cfg:    Config{Seccomp: true, CapAdd: []string{"SYS_ADMIN"}},
			script: `mkdir -p /tmp/m; mount -t tmpfs none /tmp/m 2>/dev/null && echo mounted || echo blocked`,
			want:   []string{"blocked"},
		},
		{
			name:   "CAP_SYS_ADMIN without seccomp mounts",
			cfg:    Config{CapAdd: []string{"SYS_ADMIN"}},
			script: `mkdir -p /tmp/m; mount -t tmpfs none /tmp/m 2>/dev/null && echo mounted || echo blocked`,
			want:   []string{"mounted"},
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
