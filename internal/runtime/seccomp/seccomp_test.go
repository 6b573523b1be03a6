package seccomp

import (
	"encoding/binary"
	"reflect"
	"slices"
	"testing"

	"github.com/elastic/go-seccomp-bpf/arch"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/klite/klite/internal/runtime/oci"
)

// call is one system call as the filter sees it.
type call struct {
	arch *arch.Info
	name string
	x32  bool
	args [6]uint64
}

// data lays out struct seccomp_data for x/net/bpf's VM, which loads words
// big-endian: each 32-bit word is stored big-endian where the kernel's
// little-endian word would be, so the program reads the same values.
func (c call) data(t *testing.T) []byte {
	nr, ok := c.arch.SyscallNames[c.name]
	if !ok {
		t.Fatalf("%s has no %s", c.arch.Name, c.name)
	}
	if c.x32 {
		nr |= x32Bit
	}
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[0:], uint32(nr))
	binary.BigEndian.PutUint32(b[4:], uint32(c.arch.ID))
	for i, a := range c.args {
		binary.BigEndian.PutUint32(b[16+8*i:], uint32(a))
		binary.BigEndian.PutUint32(b[20+8*i:], uint32(a>>32))
	}
	return b
}

func run(t *testing.T, f *Filter, c call) uint32 {
	t.Helper()
	var prog []bpf.Instruction
	for _, raw := range f.Program {
		prog = append(prog, raw.Disassemble())
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatalf("vm: %v", err)
	}
	ret, err := vm.Run(c.data(t))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return uint32(ret)
}

func errnoRet(e unix.Errno) *uint { u := uint(e); return &u }

const (
	allow = unix.SECCOMP_RET_ALLOW
	eperm = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	kill  = unix.SECCOMP_RET_KILL_PROCESS
)

func TestCompile(t *testing.T) {
	denyHostname := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"sethostname", "setdomainname"}, Action: specs.ActErrno, ErrnoRet: errnoRet(unix.EPERM)}}}
	allowList := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: errnoRet(unix.EPERM),
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write", "no_such_call"}, Action: specs.ActAllow},
			{Names: []string{"clone"}, Action: specs.ActAllow,
				Args: []specs.LinuxSeccompArg{{Index: 0, Value: unix.CLONE_NEWNS | unix.CLONE_NEWNET, Op: specs.OpMaskedEqual}}},
			{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: errnoRet(unix.ENOSYS)},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 8, Op: specs.OpEqualTo}}},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0xffffffff, Op: specs.OpEqualTo}}},
			{Names: []string{"kill"}, Action: specs.ActKillProcess},
			{Names: []string{"mmap"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 1, Value: 1 << 33, Op: specs.OpLessEqual}, {Index: 2, Value: 7, Op: specs.OpNotEqual}}},
			{Names: []string{"lseek"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 2, Value: 1, Op: specs.OpGreaterThan}}},
		}}
	x86, i386, x32 := arch.X86_64, arch.I386, arch.X32
	for _, tc := range []struct {
		name    string
		profile *specs.LinuxSeccomp
		call    call
		want    uint32
	}{
		{"default allow", denyHostname, call{arch: x86, name: "read"}, allow},
		{"listed errno", denyHostname, call{arch: x86, name: "sethostname"}, eperm},
		{"second name of a rule", denyHostname, call{arch: x86, name: "setdomainname"}, eperm},
		{"unlisted arch is killed", denyHostname, call{arch: i386, name: "sethostname"}, kill},
		{"x32 not listed is killed", denyHostname, call{arch: x32, name: "sethostname", x32: true}, kill},
		{"allowlist allows", allowList, call{arch: x86, name: "write"}, allow},
		{"allowlist denies", allowList, call{arch: x86, name: "mount"}, eperm},
		{"i386 listed", allowList, call{arch: i386, name: "read"}, allow},
		{"i386 denied", allowList, call{arch: i386, name: "mount"}, eperm},
		{"x32 listed", allowList, call{arch: x32, name: "read", x32: true}, allow},
		{"x32 denied", allowList, call{arch: x32, name: "mount", x32: true}, eperm},
		{"masked equal holds", allowList, call{arch: x86, name: "clone", args: [6]uint64{unix.CLONE_VM | unix.CLONE_THREAD}}, allow},
		{"masked equal fails", allowList, call{arch: x86, name: "clone", args: [6]uint64{unix.CLONE_VM | unix.CLONE_NEWNET}}, eperm},
		{"errnoRet", allowList, call{arch: x86, name: "clone3"}, unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)},
		{"first of two rules", allowList, call{arch: x86, name: "personality", args: [6]uint64{8}}, allow},
		{"second of two rules", allowList, call{arch: x86, name: "personality", args: [6]uint64{0xffffffff}}, allow},
		{"neither rule", allowList, call{arch: x86, name: "personality", args: [6]uint64{0x20}}, eperm},
		{"high word differs", allowList, call{arch: x86, name: "personality", args: [6]uint64{1<<32 | 8}}, eperm},
		{"kill process", allowList, call{arch: x86, name: "kill"}, kill},
		{"two conditions hold", allowList, call{arch: x86, name: "mmap", args: [6]uint64{0, 1 << 33, 3}}, allow},
		{"less-equal fails on the high word", allowList, call{arch: x86, name: "mmap", args: [6]uint64{0, 1<<33 + 1, 3}}, eperm},
		{"not-equal fails", allowList, call{arch: x86, name: "mmap", args: [6]uint64{0, 4096, 7}}, eperm},
		{"greater than", allowList, call{arch: x86, name: "lseek", args: [6]uint64{0, 0, 2}}, allow},
		{"greater than, equal", allowList, call{arch: x86, name: "lseek", args: [6]uint64{0, 0, 1}}, eperm},
		{"greater than, high word", allowList, call{arch: x86, name: "lseek", args: [6]uint64{0, 0, 1 << 40}}, allow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Compile(tc.profile, "amd64")
			if err != nil {
				t.Fatal(err)
			}
			if got := run(t, f, tc.call); got != tc.want {
				t.Errorf("filter returned %#x, want %#x", got, tc.want)
			}
		})
	}
}

func TestCompileArm64(t *testing.T) {
	p := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"read", "openat"}, Action: specs.ActAllow}}}
	f, err := Compile(p, "arm64")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		call call
		want uint32
	}{
		{call{arch: arch.AARCH64, name: "openat"}, allow},
		{call{arch: arch.AARCH64, name: "mount"}, eperm},
		{call{arch: arch.ARM, name: "read"}, kill},
	} {
		if got := run(t, f, tc.call); got != tc.want {
			t.Errorf("%s/%s: %#x, want %#x", tc.call.arch.Name, tc.call.name, got, tc.want)
		}
	}
}

func TestCompileRejects(t *testing.T) {
	for name, p := range map[string]*specs.LinuxSeccomp{
		"notify":       {DefaultAction: specs.ActNotify},
		"listener":     {DefaultAction: specs.ActAllow, ListenerPath: "/run/x.sock"},
		"unknown flag": {DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_NOPE"}},
		"bad index": {DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"},
			Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}}}},
	} {
		if _, err := Compile(p, "amd64"); err == nil {
			t.Errorf("%s: compiled", name)
		}
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	f, err := Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActLog, Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog},
		Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow}}}, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got Filter
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got, f) || got.Flags != unix.SECCOMP_FILTER_FLAG_LOG {
		t.Errorf("round trip changed the filter")
	}
	if err := got.UnmarshalBinary(b[:len(b)-1]); err == nil {
		t.Error("truncated filter decoded")
	}
}

// TestRuntimeDefaultCompiles compiles klite's own profile, the largest one
// it writes, for both machines: within the kernel's length limit, and judged
// as the profile says.
func TestRuntimeDefaultCompiles(t *testing.T) {
	caps := append(slices.Clone(oci.DefaultCapabilities), "CAP_SYS_ADMIN", "CAP_SYS_PTRACE")
	for _, tc := range []struct {
		goarch string
		native *arch.Info
	}{{"amd64", arch.X86_64}, {"arm64", arch.AARCH64}} {
		p := oci.RuntimeDefaultSeccomp(oci.DefaultCapabilities)
		f, err := Compile(p, tc.goarch)
		if err != nil {
			t.Fatalf("%s: %v", tc.goarch, err)
		}
		if _, err := Compile(oci.RuntimeDefaultSeccomp(caps), tc.goarch); err != nil {
			t.Fatalf("%s with more capabilities: %v", tc.goarch, err)
		}
		for name, want := range map[string]uint32{"read": allow, "execve": allow, "mount": eperm, "kexec_load": eperm} {
			if got := run(t, f, call{arch: tc.native, name: name}); got != want {
				t.Errorf("%s %s: %#x, want %#x", tc.goarch, name, got, want)
			}
		}
	}
}
