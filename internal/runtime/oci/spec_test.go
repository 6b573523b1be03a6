package oci

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestCommand(t *testing.T) {
	ep, cmd := []string{"/entry"}, []string{"--default"}
	for _, tc := range []struct {
		name          string
		command, args []string
		want          []string
	}{
		{"image defaults", nil, nil, []string{"/entry", "--default"}},
		{"args replace cmd", nil, []string{"x"}, []string{"/entry", "x"}},
		{"command replaces both", []string{"sh"}, nil, []string{"sh"}},
		{"command and args", []string{"sh"}, []string{"-c", "true"}, []string{"sh", "-c", "true"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Command(ep, cmd, tc.command, tc.args); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestEnv(t *testing.T) {
	got := Env([]string{"PATH=/bin", "A=image"}, []string{"A=pod", "B=1"})
	want := []string{"PATH=/bin", "A=pod", "B=1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestUser(t *testing.T) {
	root := t.TempDir()
	_ = os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	_ = os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0::/:/bin/sh\napp:x:1000:1000::/:/bin/sh\n"), 0o644)
	_ = os.WriteFile(filepath.Join(root, "etc/group"), []byte("root:x:0:\napp:x:1000:\nextra:x:2000:app\n"), 0o644)
	for _, tc := range []struct {
		user     string
		uid, gid uint32
		extra    []uint32
		err      bool
	}{
		{user: "", uid: 0, gid: 0},
		{user: "app", uid: 1000, gid: 1000, extra: []uint32{2000}},
		{user: "1000", uid: 1000, gid: 1000, extra: []uint32{2000}},
		{user: "1000:extra", uid: 1000, gid: 2000},
		{user: "4242", uid: 4242, gid: 0},
		{user: "4242:7", uid: 4242, gid: 7},
		{user: "nobody", err: true},
	} {
		uid, gid, extra, err := User(root, tc.user)
		if (err != nil) != tc.err || uid != tc.uid || gid != tc.gid || !reflect.DeepEqual(extra, tc.extra) {
			t.Errorf("User(%q) = %d %d %v %v", tc.user, uid, gid, extra, err)
		}
	}
}

func TestSpec(t *testing.T) {
	s := Spec(Options{
		Rootfs: "/r", Args: []string{"sh"}, UID: 1000, GID: 1000,
		Namespaces:  Namespaces{Network: "/proc/1/ns/net", IPC: "/proc/1/ns/ipc", UTS: "/proc/1/ns/uts"},
		CgroupsPath: "/klite/pod1/c1",
		Resources:   Resources{MemoryLimit: 1 << 20, CPUShares: 256, CPUQuota: 50000, PidsLimit: 64},
		Mounts:      []Mount{{HostPath: "/h", ContainerPath: "/etc/hosts", ReadOnly: true}},
		CapAdd:      []string{"net_admin"}, CapDrop: []string{"KILL"}, Seccomp: true,
	})
	if s.Linux.Seccomp == nil || s.Linux.Seccomp.DefaultAction != specs.ActErrno || !allows(s.Linux.Seccomp, "read") {
		t.Errorf("seccomp %+v", s.Linux.Seccomp)
	}
	if s.Process.NoNewPrivileges || len(s.Linux.MaskedPaths) == 0 || len(s.Linux.ReadonlyPaths) == 0 {
		t.Error("unprivileged spec has no_new_privs unasked or lacks masked/readonly paths")
	}
	if nnp := Spec(Options{NoNewPrivileges: true}); !nnp.Process.NoNewPrivileges {
		t.Error("NoNewPrivileges did not set no_new_privs")
	}
	caps := s.Process.Capabilities.Bounding
	if !contains(caps, "CAP_NET_ADMIN") || contains(caps, "CAP_KILL") || !contains(caps, "CAP_CHOWN") || contains(caps, "CAP_SYS_ADMIN") {
		t.Errorf("caps %v", caps)
	}
	wantNS := []specs.LinuxNamespace{{Type: "mount"}, {Type: "network", Path: "/proc/1/ns/net"},
		{Type: "ipc", Path: "/proc/1/ns/ipc"}, {Type: "uts", Path: "/proc/1/ns/uts"}, {Type: "pid"}}
	if !reflect.DeepEqual(s.Linux.Namespaces, wantNS) {
		t.Errorf("namespaces %v", s.Linux.Namespaces)
	}
	r := s.Linux.Resources
	if *r.Memory.Limit != 1<<20 || *r.CPU.Shares != 256 || *r.CPU.Quota != 50000 || *r.CPU.Period != 100000 || *r.Pids.Limit != 64 {
		t.Errorf("resources %+v", r)
	}
	last := s.Mounts[len(s.Mounts)-1]
	if last.Destination != "/etc/hosts" || !contains(last.Options, "ro") {
		t.Errorf("bind mount %+v", last)
	}

	host := Spec(Options{Namespaces: Namespaces{Network: Host, UTS: Host, IPC: Host, PID: Host}, Privileged: true, Seccomp: true})
	if host.Linux.Seccomp != nil {
		t.Error("privileged container got a seccomp filter")
	}
	if len(host.Linux.Namespaces) != 1 || host.Process.NoNewPrivileges || len(host.Linux.MaskedPaths) != 0 ||
		!contains(host.Process.Capabilities.Bounding, "CAP_SYS_ADMIN") {
		t.Errorf("privileged host spec %+v %+v", host.Linux, host.Process)
	}
}

func TestCapsOfMask(t *testing.T) {
	if got := capsOfMask(0xa80425fb); !reflect.DeepEqual(sortedCopy(got), sortedCopy(DefaultCapabilities)) {
		t.Errorf("capsOfMask(docker default) = %v", got)
	}
	if got := capsOfMask(1<<41 - 1); len(got) != len(AllCapabilities) {
		t.Errorf("full mask gives %d caps", len(got))
	}
	if len(BoundingCapabilities()) == 0 {
		t.Error("no bounding capabilities read")
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func TestCapabilitiesAndPaths(t *testing.T) {
	host := []string{"CAP_CHOWN", "CAP_KILL", "CAP_SYS_ADMIN"}
	for _, tc := range []struct {
		name   string
		o      Options
		caps   []string
		masked []string
	}{
		{name: "add ALL", o: Options{CapAdd: []string{"ALL"}, PrivilegedCaps: host},
			caps: append(slices.Clone(DefaultCapabilities), "CAP_SYS_ADMIN"), masked: MaskedPaths},
		{name: "add ALL drop one", o: Options{CapAdd: []string{"all"}, CapDrop: []string{"kill"}, PrivilegedCaps: host},
			caps: append(slices.DeleteFunc(slices.Clone(DefaultCapabilities), func(c string) bool { return c == "CAP_KILL" }), "CAP_SYS_ADMIN")},
		{name: "drop ALL add one", o: Options{CapAdd: []string{"NET_ADMIN"}, CapDrop: []string{"ALL"}}, caps: nil},
		{name: "own masked paths", o: Options{MaskedPaths: []string{"/proc/x"}}, caps: DefaultCapabilities, masked: []string{"/proc/x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Spec(tc.o)
			got := s.Process.Capabilities.Effective
			if !sameSet(got, tc.caps) {
				t.Errorf("capabilities = %v, want %v", got, tc.caps)
			}
			if tc.masked != nil && !slices.Equal(s.Linux.MaskedPaths, tc.masked) {
				t.Errorf("masked paths = %v, want %v", s.Linux.MaskedPaths, tc.masked)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestMountPropagation(t *testing.T) {
	for _, tc := range []struct {
		name, rootfs string
		mounts       []Mount
		opt          string
	}{
		{name: "private", mounts: []Mount{{HostPath: "/h", ContainerPath: "/c"}}, opt: "rprivate"},
		{name: "host to container", mounts: []Mount{{HostPath: "/h", ContainerPath: "/c", Propagation: "rslave"}}, opt: "rslave", rootfs: "rslave"},
		{name: "bidirectional", mounts: []Mount{{HostPath: "/x", ContainerPath: "/x", Propagation: "rslave"},
			{HostPath: "/h", ContainerPath: "/c", Propagation: "rshared"}}, opt: "rshared", rootfs: "rshared"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Spec(Options{Mounts: tc.mounts})
			last := s.Mounts[len(s.Mounts)-1]
			if last.Destination != "/c" || !slices.Contains(last.Options, tc.opt) {
				t.Errorf("mount %+v, want option %s", last, tc.opt)
			}
			if s.Linux.RootfsPropagation != tc.rootfs {
				t.Errorf("rootfs propagation %q, want %q", s.Linux.RootfsPropagation, tc.rootfs)
			}
		})
	}
}
