// Package seccomp compiles an OCI seccomp profile (the runtime spec's
// linux.seccomp, the format of Docker's and the kubelet's localhost
// profiles) into a classic BPF program and installs it, in pure Go: no
// libseccomp at build or run time.
//
// The program, for the machine's architectures only:
//
//	load arch ──► one section per architecture the profile lists (the native one always);
//	              any other architecture: kill the process
//	section:      load nr; for each rule, in the profile's order, each name the
//	              architecture knows: nr matches and every argument condition holds?
//	              ──► the rule's action; else the next rule; at the end the default action
//
// The first matching rule decides (a profile that lists a call twice with
// different actions gets the first). Names an architecture does not know
// are skipped, as libseccomp does. x32 calls (amd64 numbers with bit 30 set)
// are judged by the x32 section when the profile lists SCMP_ARCH_X32 and
// kill the process otherwise, so that a call cannot slip past a rule by
// changing ABI.
package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"github.com/elastic/go-seccomp-bpf/arch"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// maxInstructions is the kernel's limit on a filter's length (BPF_MAXINSNS).
const maxInstructions = 4096

// x32Bit marks an x32 system call number on amd64.
const x32Bit = 0x40000000

// Offsets in struct seccomp_data.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

// Filter is a compiled profile.
type Filter struct {
	// Program is the BPF program, for the kernel as it is.
	Program []bpf.RawInstruction
	// Flags are SECCOMP_FILTER_FLAG_* asked for by the profile.
	Flags uint32
}

// abi is one system call table an architecture runs.
type abi struct {
	specArch specs.Arch
	info     *arch.Info
	nrBit    uint32 // ORed into every number (x32)
}

// abis lists, per GOARCH, the ABIs its processes may use; the first is native.
func abis(goarch string) ([]abi, error) {
	switch goarch {
	case "amd64":
		return []abi{{specs.ArchX86_64, arch.X86_64, 0}, {specs.ArchX86, arch.I386, 0},
			{specs.ArchX32, arch.X32, x32Bit}}, nil
	case "arm64":
		return []abi{{specs.ArchAARCH64, arch.AARCH64, 0}, {specs.ArchARM, arch.ARM, 0}}, nil
	}
	return nil, fmt.Errorf("seccomp: architecture %s not supported", goarch)
}

// Compile turns profile p into a filter for a machine of GOARCH goarch.
func Compile(p *specs.LinuxSeccomp, goarch string) (*Filter, error) {
	if p.ListenerPath != "" {
		return nil, errors.New("seccomp: notify listeners are not supported")
	}
	all, err := abis(goarch)
	if err != nil {
		return nil, err
	}
	flags, err := filterFlags(p.Flags)
	if err != nil {
		return nil, err
	}
	def, err := action(p.DefaultAction, p.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("seccomp: default action: %w", err)
	}
	enabled := []abi{all[0]}
	for _, a := range all[1:] {
		for _, listed := range p.Architectures {
			if listed == a.specArch {
				enabled = append(enabled, a)
				break
			}
		}
	}
	prog, err := assemble(p, enabled, def)
	if err != nil {
		return nil, err
	}
	return &Filter{Program: prog, Flags: flags}, nil
}

func filterFlags(in []specs.LinuxSeccompFlag) (uint32, error) {
	var flags uint32
	for _, f := range in {
		switch f {
		case specs.LinuxSeccompFlagLog:
			flags |= unix.SECCOMP_FILTER_FLAG_LOG
		case specs.LinuxSeccompFlagSpecAllow:
			flags |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
		case specs.LinuxSeccompFlagWaitKillableRecv: // only matters to notify, unsupported
		default:
			return 0, fmt.Errorf("seccomp: unknown flag %q", f)
		}
	}
	return flags, nil
}

// action returns the filter's return value for a profile action.
func action(a specs.LinuxSeccompAction, errnoRet *uint) (uint32, error) {
	errno := uint32(unix.EPERM)
	if errnoRet != nil {
		errno = uint32(*errnoRet)
	}
	switch a {
	case specs.ActAllow:
		return unix.SECCOMP_RET_ALLOW, nil
	case specs.ActErrno:
		return unix.SECCOMP_RET_ERRNO | errno&unix.SECCOMP_RET_DATA, nil
	case specs.ActKill, specs.ActKillThread:
		return unix.SECCOMP_RET_KILL_THREAD, nil
	case specs.ActKillProcess:
		return unix.SECCOMP_RET_KILL_PROCESS, nil
	case specs.ActTrap:
		return unix.SECCOMP_RET_TRAP, nil
	case specs.ActTrace:
		return unix.SECCOMP_RET_TRACE | errno&unix.SECCOMP_RET_DATA, nil
	case specs.ActLog:
		return unix.SECCOMP_RET_LOG, nil
	}
	return 0, fmt.Errorf("action %q not supported", a)
}

// MarshalBinary encodes the filter: flags, then the instructions
// (code, jt, jf, k), all little-endian.
func (f *Filter) MarshalBinary() ([]byte, error) {
	b := binary.LittleEndian.AppendUint32(nil, f.Flags)
	for _, in := range f.Program {
		b = binary.LittleEndian.AppendUint16(b, in.Op)
		b = append(b, in.Jt, in.Jf)
		b = binary.LittleEndian.AppendUint32(b, in.K)
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary encoded.
func (f *Filter) UnmarshalBinary(b []byte) error {
	if len(b) < 4 || (len(b)-4)%8 != 0 || (len(b)-4)/8 > maxInstructions {
		return errors.New("seccomp: malformed filter")
	}
	f.Flags = binary.LittleEndian.Uint32(b)
	f.Program = f.Program[:0]
	for b = b[4:]; len(b) > 0; b = b[8:] {
		f.Program = append(f.Program, bpf.RawInstruction{Op: binary.LittleEndian.Uint16(b),
			Jt: b[2], Jf: b[3], K: binary.LittleEndian.Uint32(b[4:])})
	}
	return nil
}

// Install applies the filter to every thread of the calling process
// (SECCOMP_FILTER_FLAG_TSYNC). The caller needs CAP_SYS_ADMIN or
// no_new_privs.
func (f *Filter) Install() error {
	prog := make([]unix.SockFilter, len(f.Program))
	for i, in := range f.Program {
		prog[i] = unix.SockFilter{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	if len(prog) == 0 {
		return errors.New("seccomp: empty filter")
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	flags := uintptr(f.Flags | unix.SECCOMP_FILTER_FLAG_TSYNC)
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&fprog)))
	switch {
	case errno != 0:
		return fmt.Errorf("seccomp: install filter: %w", errno)
	case r != 0: // TSYNC names a thread that could not take the filter
		return fmt.Errorf("seccomp: install filter: thread %d could not be synchronised", r)
	}
	return nil
}
