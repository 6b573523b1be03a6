package oci

import (
	goruntime "runtime"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// klite's RuntimeDefault seccomp profile is an allowlist: every system call
// not named below fails with EPERM. The list holds what ordinary programs
// use (files, memory, processes, signals, time, sockets, IPC); the calls a
// container has no business making (kernel modules, kexec, reboot, swap,
// accounting, the clock, the kernel keyring, BPF, perf, mounting, new
// namespaces, tracing other processes, file handles) are left out, and a few
// come back only when the container holds the capability the kernel itself
// would demand for them (capabilitySyscalls): a container given
// CAP_SYS_ADMIN may mount, one given CAP_SYS_PTRACE may ptrace. Names the
// machine's libseccomp does not know are skipped by the OCI runtime, so the
// lists may name calls of every architecture and of newer kernels.

// allowedSyscalls are allowed for every container under RuntimeDefault.
var allowedSyscalls = []string{
	// files and directories
	"access", "chdir", "chmod", "chown", "chown32", "close", "close_range", "copy_file_range", "creat",
	"dup", "dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
	"fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64",
	"fdatasync", "flock", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync",
	"ftruncate", "ftruncate64", "futimesat", "getcwd", "getdents", "getdents64", "lchown", "lchown32",
	"link", "linkat", "_llseek", "lseek", "lstat", "lstat64", "mkdir", "mkdirat", "mknod", "mknodat",
	"newfstatat", "open", "openat", "openat2", "pread64", "preadv", "preadv2", "pwrite64", "pwritev",
	"pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "rename", "renameat",
	"renameat2", "rmdir", "sendfile", "sendfile64", "splice", "stat", "stat64", "statfs", "statfs64",
	"statx", "symlink", "symlinkat", "sync", "sync_file_range", "sync_file_range2", "syncfs", "tee",
	"truncate", "truncate64", "umask", "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64",
	"utimes", "vmsplice", "write", "writev", "arm_fadvise64_64", "arm_sync_file_range",
	"cachestat", "fanotify_mark", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
	// extended attributes
	"fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "getxattr", "getxattrat", "lgetxattr",
	"listxattr", "listxattrat", "llistxattr", "lremovexattr", "lsetxattr", "removexattr",
	"removexattrat", "setxattr", "setxattrat",
	// memory
	"brk", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore",
	"mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mremap", "mseal", "msync", "munlock",
	"munlockall", "munmap", "pkey_alloc", "pkey_free", "pkey_mprotect", "remap_file_pages",
	// processes and threads
	"arch_prctl", "capget", "capset", "execve", "execveat", "exit", "exit_group", "fork",
	"get_robust_list", "get_thread_area", "getcpu", "getpgid", "getpgrp", "getpid", "getppid",
	"getpriority", "getrlimit", "getrusage", "getsid", "gettid", "ioprio_get", "ioprio_set",
	"kill", "pidfd_open", "pidfd_send_signal", "prctl", "prlimit64", "restart_syscall", "rseq",
	"sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity", "sched_getattr",
	"sched_getparam", "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
	"sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
	"seccomp", "set_robust_list", "set_thread_area", "set_tid_address", "setpgid", "setpriority",
	"setrlimit", "setsid", "sysinfo", "tgkill", "times", "tkill", "ugetrlimit", "uname", "vfork",
	"wait4", "waitid", "waitpid", "futex", "futex_requeue", "futex_time64", "futex_wait",
	"futex_waitv", "futex_wake", "landlock_add_rule", "landlock_create_ruleset",
	"landlock_restrict_self", "set_tls", "cacheflush", "breakpoint", "uretprobe",
	// users and groups
	"getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32",
	"getresgid", "getresgid32", "getresuid", "getresuid32", "getuid", "getuid32", "setfsgid",
	"setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32",
	"setregid", "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid",
	"setreuid32", "setuid", "setuid32",
	// signals
	"alarm", "pause", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
	"rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
	"rt_tgsigqueueinfo", "sigaction", "sigaltstack", "signal", "signalfd", "signalfd4", "sigpending",
	"sigprocmask", "sigreturn", "sigsuspend",
	// time (reading it; setting it needs CAP_SYS_TIME)
	"clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
	"clock_nanosleep_time64", "getitimer", "gettimeofday", "nanosleep", "setitimer", "time",
	"timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
	"timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
	"timerfd_settime", "timerfd_settime64",
	// waiting for events
	"_newselect", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
	"epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "io_cancel", "io_destroy",
	"io_getevents", "io_pgetevents", "io_pgetevents_time64", "io_setup", "io_submit", "poll", "ppoll",
	"ppoll_time64", "pselect6", "pselect6_time64", "select",
	// sockets
	"accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen",
	"recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "send", "sendmmsg", "sendmsg",
	"sendto", "setsockopt", "shutdown", "socket", "socketcall", "socketpair",
	// IPC
	"ipc", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
	"mq_timedsend", "mq_timedsend_time64", "mq_unlink", "msgctl", "msgget", "msgrcv", "msgsnd",
	"pipe", "pipe2", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "shmat", "shmctl",
	"shmdt", "shmget",
	// devices and the rest
	"getrandom", "ioctl",
}

// capabilitySyscalls come back for a container holding the capability
// (the one the kernel checks for them, so the filter only adds a wall for
// containers that lack it). kexec, swap, the keyring, userfaultfd and
// io_uring stay blocked for every RuntimeDefault container.
var capabilitySyscalls = map[string][]string{
	"CAP_SYS_ADMIN": {"bpf", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie",
		"mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd",
		"setdomainname", "sethostname", "setns", "syslog", "umount", "umount2", "unshare"},
	"CAP_BPF":             {"bpf"},
	"CAP_PERFMON":         {"perf_event_open"},
	"CAP_SYSLOG":          {"syslog"},
	"CAP_SYS_BOOT":        {"reboot"},
	"CAP_SYS_CHROOT":      {"chroot"},
	"CAP_SYS_MODULE":      {"delete_module", "finit_module", "init_module"},
	"CAP_SYS_PACCT":       {"acct"},
	"CAP_SYS_PTRACE":      {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"},
	"CAP_SYS_RAWIO":       {"ioperm", "iopl"},
	"CAP_SYS_TIME":        {"adjtimex", "clock_adjtime", "clock_adjtime64", "clock_settime", "clock_settime64", "settimeofday", "stime"},
	"CAP_SYS_NICE":        {"get_mempolicy", "mbind", "migrate_pages", "move_pages", "set_mempolicy", "set_mempolicy_home_node"},
	"CAP_SYS_TTY_CONFIG":  {"vhangup"},
	"CAP_DAC_READ_SEARCH": {"name_to_handle_at", "open_by_handle_at"},
}

// namespaceCloneFlags are clone(2)'s new-namespace flags: without
// CAP_SYS_ADMIN, clone is allowed only with none of them.
const namespaceCloneFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWUSER |
	unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP

// personalities are the personality(2) arguments allowed: Linux, 32-bit
// Linux, the uname-2.6 flag on each, and the query.
var personalities = []uint64{0x0, 0x8, 0x20000, 0x20008, 0xffffffff}

// RuntimeDefaultSeccomp is klite's RuntimeDefault seccomp profile for a
// container holding caps (names as in DefaultCapabilities): EPERM for
// every system call but the allowed ones.
func RuntimeDefaultSeccomp(caps []string) *specs.LinuxSeccomp {
	eperm := uint(unix.EPERM)
	allowed := slices.Clone(allowedSyscalls)
	for _, c := range caps {
		allowed = append(allowed, capabilitySyscalls[capName(c)]...)
	}
	slices.Sort(allowed)
	s := &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: &eperm,
		Architectures:   seccompArches(goruntime.GOARCH),
		Syscalls:        []specs.LinuxSyscall{{Names: slices.Compact(allowed), Action: specs.ActAllow}},
	}
	s.Syscalls = append(s.Syscalls, cloneRules(slices.Contains(caps, "CAP_SYS_ADMIN"))...)
	for _, p := range personalities {
		s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{Names: []string{"personality"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: p, Op: specs.OpEqualTo}}})
	}
	return s
}

// cloneRules allow clone and clone3 outright with CAP_SYS_ADMIN. Without
// it, clone may not create namespaces, and clone3 (whose flags live in
// memory a filter cannot read) answers ENOSYS so that libcs fall back to clone.
func cloneRules(sysAdmin bool) []specs.LinuxSyscall {
	if sysAdmin {
		return []specs.LinuxSyscall{{Names: []string{"clone", "clone3"}, Action: specs.ActAllow}}
	}
	enosys := uint(unix.ENOSYS)
	return []specs.LinuxSyscall{
		{Names: []string{"clone"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: namespaceCloneFlags, ValueTwo: 0, Op: specs.OpMaskedEqual}}},
		{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: &enosys},
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
