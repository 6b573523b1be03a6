package oci

import (
	goruntime "runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// blockedSyscalls fail with EPERM under the RuntimeDefault profile: kernel
// module, reboot, clock, keyring, namespace, mount and tracing calls a
// container has no business making (most also need capabilities the
// default set lacks; the filter is a second wall). Names unknown to the
// kernel's libseccomp are skipped by the OCI runtime.
var blockedSyscalls = []string{
	"acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module",
	"fanotify_init", "finit_module", "fsconfig", "fsmount", "fsopen", "fspick", "get_kernel_syms",
	"get_mempolicy", "init_module", "io_uring_enter", "io_uring_register", "io_uring_setup", "ioperm",
	"iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mbind", "mount",
	"mount_setattr", "move_mount", "move_pages", "name_to_handle_at", "nfsservctl", "open_by_handle_at",
	"open_tree", "perf_event_open", "pivot_root", "process_vm_readv", "process_vm_writev", "query_module",
	"quotactl", "reboot", "request_key", "set_mempolicy", "setns", "settimeofday", "stime", "swapoff",
	"swapon", "syslog", "sysfs", "_sysctl", "umount", "umount2", "unshare", "uselib", "userfaultfd",
	"ustat", "vm86", "vm86old",
}

// RuntimeDefaultSeccomp is klite's RuntimeDefault seccomp profile: allow
// by default, EPERM for blockedSyscalls.
func RuntimeDefaultSeccomp() *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: seccompArches(goruntime.GOARCH),
		Syscalls:      []specs.LinuxSyscall{{Names: blockedSyscalls, Action: specs.ActErrno}},
	}
}

func seccompArches(goarch string) []specs.Arch {
	switch goarch {
	case "amd64":
		return []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}
	case "arm64":
		return []specs.Arch{specs.ArchAARCH64, specs.ArchARM}
	default:
		return nil
	}
}
