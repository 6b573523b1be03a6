package runner

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/klite/klite/internal/runtime/seccomp"
)

// The runtimes themselves run real containers in the tests of packages
// container, cri and app/runtime; these test the pieces around them.

func TestNewProcess(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      specs.Process
		want    libcontainer.Process
		wantErr bool
	}{
		{
			name: "user, groups, capabilities, rlimits",
			in: specs.Process{Args: []string{"sh"}, Env: []string{"A=1"}, Cwd: "/w", NoNewPrivileges: true,
				User:         specs.User{UID: 1000, GID: 3000, AdditionalGids: []uint32{5, 6}},
				Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN"}, Effective: []string{"CAP_CHOWN"}},
				Rlimits:      []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 10, Soft: 5}}},
			want: libcontainer.Process{Args: []string{"sh"}, Env: []string{"A=1"}, Cwd: "/w", UID: 1000, GID: 3000,
				AdditionalGroups: []int{5, 6}, NoNewPrivileges: ptr(true),
				Capabilities: &configs.Capabilities{Bounding: []string{"CAP_CHOWN"}, Effective: []string{"CAP_CHOWN"}},
				Rlimits:      []configs.Rlimit{{Type: unix.RLIMIT_NOFILE, Hard: 10, Soft: 5}}},
		},
		{
			name: "terminal size",
			in:   specs.Process{Args: []string{"sh"}, ConsoleSize: &specs.Box{Width: 80, Height: 24}},
			want: libcontainer.Process{Args: []string{"sh"}, NoNewPrivileges: ptr(false), ConsoleWidth: 80, ConsoleHeight: 24},
		},
		{
			name:    "unknown rlimit",
			in:      specs.Process{Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOPE"}}},
			wantErr: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := newProcess(&tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got %+v\nwant %+v", *got, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestSeccompHandoff(t *testing.T) {
	f, err := seccomp.Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"sethostname"}, Action: specs.ActErrno}}}, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	var p libcontainer.Process
	done, err := passSeccomp(&p, f)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	if len(p.ExtraFiles) != 1 {
		t.Fatalf("%d extra files, want the handoff", len(p.ExtraFiles))
	}
	got, err := readHandoff(int(p.ExtraFiles[0].Fd()))
	if err != nil || !reflect.DeepEqual(got, f) {
		t.Fatalf("read back %+v, %v; want the filter", got, err)
	}
	if _, err := p.ExtraFiles[0].Write([]byte("x")); err == nil {
		t.Error("handoff writable after sealing")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	unsealed, err := unix.MemfdCreate("other", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(unsealed)
	for name, fd := range map[string]int{"pipe": int(r.Fd()), "unsealed memfd": unsealed} {
		if got, err := readHandoff(fd); got != nil || err != nil {
			t.Errorf("%s taken for a handoff: %v %v", name, got, err)
		}
	}
	var none libcontainer.Process
	if _, err := passSeccomp(&none, nil); err != nil || len(none.ExtraFiles) != 0 {
		t.Errorf("no filter: %v, %d extra files", err, len(none.ExtraFiles))
	}
}

// TestRelay checks that the relay passes packets and files through
// unchanged, shows each packet to its hook first, and passes the end on.
func TestRelay(t *testing.T) {
	src := seqpacketPair(t)
	dst := seqpacketPair(t)
	seen := make(chan string, 4)
	go relay(src[1], dst[0], func(b []byte) error { seen <- string(b); return nil })

	if err := unix.Sendmsg(src[0], []byte(`{"type":"procReady"}`), nil, nil, 0); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := unix.Sendmsg(src[0], []byte("/dev/x"), unix.UnixRights(int(w.Fd())), nil, 0); err != nil {
		t.Fatal(err)
	}
	w.Close()
	msg, fds, err := recvPacket(dst[1])
	if err != nil || string(msg) != `{"type":"procReady"}` || len(fds) != 0 {
		t.Fatalf("first packet %q %v %v", msg, fds, err)
	}
	msg, fds, err = recvPacket(dst[1])
	if err != nil || string(msg) != "/dev/x" || len(fds) != 1 {
		t.Fatalf("second packet %q %v %v", msg, fds, err)
	}
	passed := os.NewFile(uintptr(fds[0]), "passed")
	if _, err := passed.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	passed.Close()
	buf := make([]byte, 2)
	if _, err := r.Read(buf); err != nil || string(buf) != "hi" {
		t.Errorf("passed file does not reach the pipe: %q %v", buf, err)
	}
	for _, want := range []string{`{"type":"procReady"}`, "/dev/x"} {
		if got := <-seen; got != want {
			t.Errorf("hook saw %q, want %q", got, want)
		}
	}
	_ = unix.Shutdown(src[0], unix.SHUT_WR)
	done := make(chan error, 1)
	go func() { _, _, err := recvPacket(dst[1]); done <- err }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the end of the source did not reach the destination")
	}
}

func TestIsProcRun(t *testing.T) {
	for msg, want := range map[string]bool{
		`{"type":"procRun","flags":0}`:                     true,
		`{"type":"procReady"}`:                             false,
		`{"type":"procError","arg":{"message":"procRun"}}`: false,
		`procRun`: false,
	} {
		if got := isProcRun([]byte(msg)); got != want {
			t.Errorf("isProcRun(%s) = %v", msg, got)
		}
	}
}

func seqpacketPair(t *testing.T) [2]int {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return [2]int(fds)
}

func TestReadSpecBindSources(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mount   specs.Mount
		want    string // the source read, relative to the bundle when not absolute
		wantErr bool
	}{
		{"absolute", specs.Mount{Destination: "/d", Type: "bind", Source: "/srv/d"}, "/srv/d", false},
		{"relative", specs.Mount{Destination: "/d", Type: "bind", Source: "data"}, "data", false},
		{"rbind option", specs.Mount{Destination: "/d", Source: "data", Options: []string{"rbind"}}, "data", false},
		{"empty", specs.Mount{Destination: "/d", Type: "bind"}, "", true},
		{"not a bind", specs.Mount{Destination: "/proc", Type: "proc", Source: "proc"}, "proc", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bundle := t.TempDir()
			b, err := json.Marshal(specs.Spec{Root: &specs.Root{Path: "fs"}, Process: &specs.Process{Args: []string{"sh"}},
				Mounts: []specs.Mount{tc.mount}})
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := readSpec(bundle)
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if isBind(tc.mount) && !filepath.IsAbs(want) {
				want = filepath.Join(bundle, want)
			}
			if s.Mounts[0].Source != want || s.Root.Path != filepath.Join(bundle, "fs") {
				t.Errorf("source %q root %q, want %q and the bundle's fs", s.Mounts[0].Source, s.Root.Path, want)
			}
		})
	}
}
