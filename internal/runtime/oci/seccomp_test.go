package oci

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// allows reports whether p lets a call through unconditionally.
func allows(p *specs.LinuxSeccomp, name string) bool {
	for _, r := range p.Syscalls {
		if r.Action == specs.ActAllow && len(r.Args) == 0 && slices.Contains(r.Names, name) {
			return true
		}
	}
	return false
}

func TestRuntimeDefaultSeccomp(t *testing.T) {
	for _, tc := range []struct {
		name    string
		caps    []string
		allow   []string
		deny    []string
		cloneOK bool // clone allowed whatever its flags
	}{
		{
			name:  "default capabilities",
			caps:  DefaultCapabilities,
			allow: []string{"read", "openat", "execve", "socket", "accept4", "futex", "chroot", "wait4"},
			deny: []string{"kexec_load", "kexec_file_load", "open_by_handle_at", "init_module", "finit_module",
				"delete_module", "bpf", "perf_event_open", "mount", "umount2", "unshare", "setns", "keyctl",
				"add_key", "request_key", "ptrace", "reboot", "swapon", "swapoff", "acct", "settimeofday",
				"clock_settime", "userfaultfd", "io_uring_setup", "clone", "clone3", "personality"},
		},
		{
			name:    "CAP_SYS_ADMIN",
			caps:    append(slices.Clone(DefaultCapabilities), "CAP_SYS_ADMIN"),
			allow:   []string{"mount", "umount2", "unshare", "setns", "bpf", "perf_event_open", "clone", "clone3"},
			deny:    []string{"kexec_load", "keyctl", "swapon", "reboot", "init_module", "ptrace"},
			cloneOK: true,
		},
		{
			name:  "CAP_SYS_PTRACE and CAP_SYS_TIME",
			caps:  []string{"CAP_SYS_PTRACE", "CAP_SYS_TIME"},
			allow: []string{"ptrace", "process_vm_readv", "settimeofday", "clock_settime"},
			deny:  []string{"mount", "chroot", "reboot"},
		},
		{
			name: "no capabilities",
			deny: []string{"chroot", "mount", "ptrace"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := RuntimeDefaultSeccomp(tc.caps)
			if p.DefaultAction != specs.ActErrno || p.DefaultErrnoRet == nil || *p.DefaultErrnoRet != uint(unix.EPERM) {
				t.Fatalf("default action %s errno %v, want EPERM", p.DefaultAction, p.DefaultErrnoRet)
			}
			for _, s := range tc.allow {
				if !allows(p, s) {
					t.Errorf("%s denied", s)
				}
			}
			for _, s := range tc.deny {
				if allows(p, s) {
					t.Errorf("%s allowed", s)
				}
			}
			if got := cloneWithoutNamespaces(p); got == tc.cloneOK {
				t.Errorf("clone restricted to no new namespaces: %v, want %v", got, !tc.cloneOK)
			}
		})
	}
}

// cloneWithoutNamespaces reports whether p allows clone only when no
// namespace flag is set, and sends clone3 to ENOSYS.
func cloneWithoutNamespaces(p *specs.LinuxSeccomp) bool {
	var clone, clone3 bool
	for _, r := range p.Syscalls {
		switch {
		case slices.Equal(r.Names, []string{"clone"}) && len(r.Args) == 1:
			a := r.Args[0]
			clone = a.Op == specs.OpMaskedEqual && a.Value&unix.CLONE_NEWUSER != 0 && a.Value&unix.CLONE_NEWNS != 0 && a.ValueTwo == 0
		case slices.Equal(r.Names, []string{"clone3"}):
			clone3 = r.Action == specs.ActErrno && r.ErrnoRet != nil && *r.ErrnoRet == uint(unix.ENOSYS)
		}
	}
	return clone && clone3
}

func TestPersonalityArgs(t *testing.T) {
	p := RuntimeDefaultSeccomp(nil)
	var got []uint64
	for _, r := range p.Syscalls {
		if slices.Equal(r.Names, []string{"personality"}) && len(r.Args) == 1 && r.Args[0].Op == specs.OpEqualTo {
			got = append(got, r.Args[0].Value)
		}
	}
	if !slices.Contains(got, 0) || !slices.Contains(got, 0xffffffff) || slices.Contains(got, 0x0400000) {
		t.Errorf("personality allowed for %#x, want Linux and the query but not ADDR_NO_RANDOMIZE", got)
	}
}
