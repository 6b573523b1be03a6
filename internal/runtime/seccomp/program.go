package seccomp

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Placeholder skips in argument checks, patched once a block's length is
// known: skipPass goes past the current argument's check, skipFail past
// the rule (to the next one).
const (
	skipPass = 254
	skipFail = 255
)

// assemble builds the whole program: the architecture dispatch, then one
// section per audit architecture.
func assemble(p *specs.LinuxSeccomp, abis []abi, def uint32) ([]bpf.RawInstruction, error) {
	var x32 *abi
	var sections [][]bpf.Instruction
	var ids []uint32
	for i := range abis {
		a := &abis[i]
		if a.nrBit != 0 { // x32 shares x86_64's audit arch: reached from its section
			x32 = a
			continue
		}
		sec, err := section(p, a, def)
		if err != nil {
			return nil, err
		}
		sections, ids = append(sections, sec), append(ids, uint32(a.info.ID))
	}
	if x32 != nil {
		sec, err := section(p, x32, def)
		if err != nil {
			return nil, err
		}
		sections = append(sections, sec)
	}
	prog := dispatch(ids, sections, x32 != nil)
	if len(prog) > maxInstructions {
		return nil, fmt.Errorf("seccomp: profile needs %d instructions, more than the kernel's %d", len(prog), maxInstructions)
	}
	return bpf.Assemble(prog)
}

// dispatch jumps on the architecture to its section (ids[i] → sections[i]);
// on amd64 the native section first sends x32 numbers to the last section
// (withX32) or kills.
func dispatch(ids []uint32, sections [][]bpf.Instruction, withX32 bool) []bpf.Instruction {
	prog := []bpf.Instruction{bpf.LoadAbsolute{Off: offArch, Size: 4}}
	head := 1 + 2*len(ids) + 1
	start := make([]int, len(sections))
	pos := head
	for i, s := range sections {
		start[i] = pos
		pos += len(s)
		if i == 0 && ids[0] == uint32(abiX86_64) {
			pos += 2 // the x32 check prepended below
		}
	}
	for i, id := range ids {
		prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: id, SkipFalse: 1})
		prog = append(prog, bpf.Jump{Skip: uint32(start[i] - (len(prog) + 1))})
	}
	prog = append(prog, bpf.RetConstant{Val: unix.SECCOMP_RET_KILL_PROCESS})
	for i, s := range sections {
		if i == 0 && ids[0] == uint32(abiX86_64) {
			prog = append(prog, s[0], bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: x32Bit, SkipFalse: 1})
			if withX32 {
				prog = append(prog, bpf.Jump{Skip: uint32(start[len(start)-1] - (len(prog) + 1))})
			} else {
				prog = append(prog, bpf.RetConstant{Val: unix.SECCOMP_RET_KILL_PROCESS})
			}
			prog = append(prog, s[1:]...)
			continue
		}
		prog = append(prog, s...)
	}
	return prog
}

// abiX86_64 is AUDIT_ARCH_X86_64.
const abiX86_64 = unix.AUDIT_ARCH_X86_64

// section judges the calls of one ABI: load the number, the rules, the default.
func section(p *specs.LinuxSeccomp, a *abi, def uint32) ([]bpf.Instruction, error) {
	prog := []bpf.Instruction{bpf.LoadAbsolute{Off: offNr, Size: 4}}
	for _, r := range p.Syscalls {
		ret, err := action(r.Action, r.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("seccomp: rule for %v: %w", r.Names, err)
		}
		block, err := argBlock(r.Args, ret)
		if err != nil {
			return nil, fmt.Errorf("seccomp: rule for %v: %w", r.Names, err)
		}
		for _, name := range r.Names {
			nr, ok := a.info.SyscallNames[name]
			if !ok {
				continue
			}
			prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(nr) | a.nrBit, SkipFalse: uint8(len(block))})
			prog = append(prog, block...)
		}
	}
	return append(prog, bpf.RetConstant{Val: def}), nil
}

// argBlock checks every argument condition (all must hold), returns ret
// when they do and, when one fails, goes on after the block with the
// number reloaded for the next rule.
func argBlock(args []specs.LinuxSeccompArg, ret uint32) ([]bpf.Instruction, error) {
	if len(args) == 0 {
		return []bpf.Instruction{bpf.RetConstant{Val: ret}}, nil
	}
	var block []bpf.Instruction
	for _, arg := range args {
		check, err := argCheck(arg)
		if err != nil {
			return nil, err
		}
		block = append(block, patch(check, skipPass, len(check), 0)...)
	}
	block = append(block, bpf.RetConstant{Val: ret}, bpf.LoadAbsolute{Off: offNr, Size: 4})
	// a failed check lands on the reload of the number
	return patch(block, skipFail, len(block)-1, 0), nil
}

// patch replaces placeholder skips equal to marker in prog (starting at
// index base) by the distance to index target.
func patch(prog []bpf.Instruction, marker uint8, target, base int) []bpf.Instruction {
	for i, in := range prog {
		j, ok := in.(bpf.JumpIf)
		if !ok {
			continue
		}
		if j.SkipTrue == marker {
			j.SkipTrue = uint8(target - (base + i + 1))
		}
		if j.SkipFalse == marker {
			j.SkipFalse = uint8(target - (base + i + 1))
		}
		prog[i] = j
	}
	return prog
}

// argCheck tests one 64-bit argument, as two 32-bit words (little-endian
// machines: the low word first), jumping to skipPass when it holds and to
// skipFail when it does not (falling off its end means it holds).
func argCheck(a specs.LinuxSeccompArg) ([]bpf.Instruction, error) {
	if a.Index > 5 {
		return nil, fmt.Errorf("argument index %d out of range", a.Index)
	}
	lo := bpf.LoadAbsolute{Off: offArgs + 8*uint32(a.Index), Size: 4}
	hi := bpf.LoadAbsolute{Off: lo.Off + 4, Size: 4}
	vlo, vhi := uint32(a.Value), uint32(a.Value>>32)
	eq := func(v uint32, skipTrue, skipFalse uint8) bpf.JumpIf {
		return bpf.JumpIf{Cond: bpf.JumpEqual, Val: v, SkipTrue: skipTrue, SkipFalse: skipFalse}
	}
	// ordered compares: the high words decide unless equal, then the low ones
	ordered := func(strict, last bpf.JumpTest) []bpf.Instruction {
		return []bpf.Instruction{hi, bpf.JumpIf{Cond: strict, Val: vhi, SkipTrue: skipPass}, eq(vhi, 0, skipFail),
			lo, bpf.JumpIf{Cond: last, Val: vlo, SkipFalse: skipFail}}
	}
	switch a.Op {
	case specs.OpEqualTo:
		return []bpf.Instruction{hi, eq(vhi, 0, skipFail), lo, eq(vlo, 0, skipFail)}, nil
	case specs.OpNotEqual:
		return []bpf.Instruction{hi, eq(vhi, 0, skipPass), lo, eq(vlo, skipFail, 0)}, nil
	case specs.OpMaskedEqual:
		wlo, whi := uint32(a.ValueTwo), uint32(a.ValueTwo>>32)
		return []bpf.Instruction{hi, bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: vhi}, eq(whi, 0, skipFail),
			lo, bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: vlo}, eq(wlo, 0, skipFail)}, nil
	case specs.OpGreaterThan:
		return ordered(bpf.JumpGreaterThan, bpf.JumpGreaterThan), nil
	case specs.OpGreaterEqual:
		return ordered(bpf.JumpGreaterThan, bpf.JumpGreaterOrEqual), nil
	case specs.OpLessThan:
		return ordered(bpf.JumpLessThan, bpf.JumpLessThan), nil
	case specs.OpLessEqual:
		return ordered(bpf.JumpLessThan, bpf.JumpLessOrEqual), nil
	}
	return nil, fmt.Errorf("operator %q not supported", a.Op)
}
