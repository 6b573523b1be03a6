// Package oci builds the OCI runtime spec (config.json) of a klite
// container: its rootfs, process (command, env, cwd and user merged with the
// image config), the sandbox namespaces it joins, cgroup limits, default
// capabilities, masked and read-only paths and no_new_privs. It is pure: no
// I/O beyond reading the rootfs's /etc/passwd and /etc/group for user names.
package oci

import (
	"cmp"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// specVersion is the spec version written; Debian's runc 1.1 knows 1.0.2.
const specVersion = "1.0.2"

// DefaultCapabilities is the capability set of an unprivileged container
// (the set Docker and containerd use).
var DefaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// MaskedPaths are hidden from unprivileged containers.
var MaskedPaths = []string{
	"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
	"/sys/firmware", "/sys/devices/virtual/powercap",
}

// ReadonlyPaths are read-only in unprivileged containers.
var ReadonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}

// Namespaces says which namespaces a container joins. A path joins that
// namespace; "" creates a new one; Host keeps the runtime's.
type Namespaces struct {
	Network, IPC, UTS, PID string
}

// Host as a namespace path keeps the host's namespace.
const Host = "host"

// Mount is a bind mount into the container.
type Mount struct {
	HostPath, ContainerPath string
	ReadOnly                bool
	// Propagation is "rprivate" (default), "rslave" (host mounts below
	// HostPath appear in the container) or "rshared" (and the container's
	// appear on the host).
	Propagation string
}

// Resources are the container's cgroup limits; zero means unlimited.
type Resources struct {
	MemoryLimit int64
	CPUShares   uint64
	CPUQuota    int64
	CPUPeriod   uint64
	PidsLimit   int64
	OOMScoreAdj *int
}

// Options describe one container.
type Options struct {
	Rootfs   string
	Args     []string
	Env      []string
	Cwd      string
	UID, GID uint32
	// AdditionalGids are supplementary groups.
	AdditionalGids []uint32
	Namespaces     Namespaces
	CgroupsPath    string
	Resources      Resources
	Mounts         []Mount
	ReadOnlyRoot   bool
	Privileged     bool
	// NoNewPrivileges sets no_new_privs: setuid programs and file
	// capabilities then grant nothing (the CRI's NoNewPrivs, set by the
	// kubelet for allowPrivilegeEscalation: false).
	NoNewPrivileges bool
	// PrivilegedCaps are a privileged container's capabilities; default
	// AllCapabilities (the runtime passes BoundingCapabilities()).
	PrivilegedCaps []string
	// MaskedPaths and ReadonlyPaths of an unprivileged container; nil
	// means the package's MaskedPaths and ReadonlyPaths.
	MaskedPaths, ReadonlyPaths []string
	// Sysctl are namespaced kernel parameters the OCI runtime sets.
	Sysctl map[string]string
	// Seccomp applies the RuntimeDefault profile (never to privileged containers).
	Seccomp bool
	// SeccompProfile, when set, is applied instead (never to privileged containers).
	SeccompProfile *specs.LinuxSeccomp
	// Terminal gives the process a terminal (the runtime needs a console socket).
	Terminal bool
	CapAdd   []string
	CapDrop  []string
}

// Spec returns the runtime spec for o.
func Spec(o Options) *specs.Spec {
	caps := capabilities(o)
	cwd := o.Cwd
	if cwd == "" {
		cwd = "/"
	}
	s := &specs.Spec{
		Version: specVersion,
		Root:    &specs.Root{Path: o.Rootfs, Readonly: o.ReadOnlyRoot},
		Process: &specs.Process{
			Terminal: o.Terminal,
			Args:     o.Args, Env: o.Env, Cwd: cwd,
			User:            specs.User{UID: o.UID, GID: o.GID, AdditionalGids: o.AdditionalGids},
			Capabilities:    &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps},
			NoNewPrivileges: o.NoNewPrivileges,
			OOMScoreAdj:     o.Resources.OOMScoreAdj,
		},
		Mounts: mounts(o),
		Linux: &specs.Linux{
			Namespaces:  namespaces(o.Namespaces),
			CgroupsPath: o.CgroupsPath,
			Resources:   resources(o),
			Sysctl:      o.Sysctl,
		},
	}
	s.Linux.RootfsPropagation = rootfsPropagation(o.Mounts)
	switch {
	case o.Privileged:
	case o.SeccompProfile != nil:
		s.Linux.Seccomp = o.SeccompProfile
	case o.Seccomp:
		s.Linux.Seccomp = RuntimeDefaultSeccomp(caps)
	}
	if !o.Privileged {
		s.Linux.MaskedPaths = orDefault(o.MaskedPaths, MaskedPaths)
		s.Linux.ReadonlyPaths = orDefault(o.ReadonlyPaths, ReadonlyPaths)
	}
	return s
}

func orDefault(v, def []string) []string {
	if v == nil {
		return def
	}
	return v
}

// capabilities is the default set (every capability for a privileged
// container) plus CapAdd less CapDrop; "ALL" in either means every one.
func capabilities(o Options) []string {
	all := AllCapabilities
	if o.PrivilegedCaps != nil {
		all = o.PrivilegedCaps
	}
	base := DefaultCapabilities
	if o.Privileged {
		base = all
	}
	var add []string
	for _, c := range o.CapAdd {
		if capName(c) == "CAP_ALL" {
			add = append(add, all...)
		} else {
			add = append(add, c)
		}
	}
	var out []string
	drop := map[string]bool{}
	for _, c := range o.CapDrop {
		drop[capName(c)] = true
	}
	for _, c := range append(append([]string(nil), base...), add...) {
		c = capName(c)
		if !drop[c] && !drop["CAP_ALL"] && !contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// capName turns "net_admin" or "NET_ADMIN" into "CAP_NET_ADMIN".
func capName(c string) string {
	c = strings.ToUpper(c)
	if !strings.HasPrefix(c, "CAP_") {
		c = "CAP_" + c
	}
	return c
}

func namespaces(n Namespaces) []specs.LinuxNamespace {
	out := []specs.LinuxNamespace{{Type: specs.MountNamespace}}
	for _, ns := range []struct {
		typ  specs.LinuxNamespaceType
		path string
	}{{specs.NetworkNamespace, n.Network}, {specs.IPCNamespace, n.IPC}, {specs.UTSNamespace, n.UTS}, {specs.PIDNamespace, n.PID}} {
		if ns.path != Host {
			out = append(out, specs.LinuxNamespace{Type: ns.typ, Path: ns.path})
		}
	}
	return out
}

func mounts(o Options) []specs.Mount {
	sysOpts := []string{"nosuid", "noexec", "nodev", "ro"}
	if o.Privileged {
		sysOpts[3] = "rw"
	}
	out := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: sysOpts},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", sysOpts[3]}},
	}
	for _, m := range o.Mounts {
		opts := []string{"rbind", cmp.Or(m.Propagation, "rprivate")}
		if m.ReadOnly {
			opts = append(opts, "ro")
		}
		out = append(out, specs.Mount{Destination: m.ContainerPath, Type: "bind", Source: m.HostPath, Options: opts})
	}
	return out
}

// rootfsPropagation is what the mounts' propagation needs of the root
// mount: shared for an rshared mount, slave for an rslave one.
func rootfsPropagation(ms []Mount) string {
	var out string
	for _, m := range ms {
		switch m.Propagation {
		case "rshared":
			return "rshared"
		case "rslave":
			out = "rslave"
		}
	}
	return out
}

func resources(o Options) *specs.LinuxResources {
	r := &specs.LinuxResources{}
	if !o.Privileged {
		r.Devices = []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}
	}
	if o.Resources.MemoryLimit > 0 {
		r.Memory = &specs.LinuxMemory{Limit: &o.Resources.MemoryLimit}
	}
	cpu := &specs.LinuxCPU{}
	if o.Resources.CPUShares > 0 {
		cpu.Shares = &o.Resources.CPUShares
	}
	if o.Resources.CPUQuota > 0 {
		cpu.Quota = &o.Resources.CPUQuota
		period := o.Resources.CPUPeriod
		if period == 0 {
			period = 100000
		}
		cpu.Period = &period
	}
	if cpu.Shares != nil || cpu.Quota != nil {
		r.CPU = cpu
	}
	if o.Resources.PidsLimit > 0 {
		limit := o.Resources.PidsLimit
		r.Pids = &specs.LinuxPids{Limit: &limit}
	}
	return r
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// AllCapabilities is every capability, for privileged containers.
var AllCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
	"CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
	"CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}
