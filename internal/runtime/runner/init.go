package runner

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	// nsenter's C constructor joins and creates the container's namespaces
	// in the re-executed init before the Go runtime starts.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"

	"github.com/klite/klite/internal/runtime/seccomp"
)

// How seccomp reaches a container.
//
// libcontainer built without libseccomp refuses seccomp profiles, and a
// filter installed before its init has mounted, pivoted and set the
// hostname would stop it (mount and sethostname are what a profile
// forbids). A trampoline exec'ed by the init after setup cannot be klite
// itself either: klite is dynamically linked (cgo), and the container's
// root usually has no dynamic loader. So the init installs the filter in
// the one place runc itself does: after the parent's "procRun" (all setup
// done, privileges not yet dropped), before it execs the user's program.
//
//	parent (shim/klite)                         init (klite re-executed, MaybeInit)
//	compile profile → sealed memfd ──fd 3──►    read filter; put a relay on libcontainer's sync socket
//	       ◄──────────── procReady ────────────  (mounts, pivot_root, hostname, sysctls done)
//	       procRun ──────────────►  relay: install filter (TSYNC: all threads) ──► libcontainer:
//	                                            drop privileges, exec the program (under the filter)
//
// The relay copies every message between libcontainer's init code and the
// parent unchanged; it acts only on the first procRun.

// handoffName names the memfd that carries a compiled filter to the init.
const handoffName = "klite-seccomp"

// handoffFd is where the filter arrives: the process's first extra file.
const handoffFd = 3

// handoffSeals are the seals that mark a handoff (nothing else klite
// passes is a memfd sealed this way).
const handoffSeals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE

// MaybeInit runs the container init when libcontainer re-executed this
// binary as one (argv[1] "init"), and never returns then; otherwise it
// returns false at once. Call it first thing in main (shim.MaybeRun does).
func MaybeInit() bool {
	if len(os.Args) < 2 || os.Args[1] != "init" || os.Getenv("_LIBCONTAINER_INITPIPE") == "" {
		return false
	}
	if err := relaySeccomp(); err != nil {
		initFailed(err)
	}
	libcontainer.Init() // never returns
	return true
}

// passSeccomp hands the compiled filter to the process's init as its
// first extra file; call done once the process started.
func passSeccomp(p *libcontainer.Process, f *seccomp.Filter) (done func(), err error) {
	if f == nil {
		return func() {}, nil
	}
	b, err := f.MarshalBinary()
	if err != nil {
		return nil, err
	}
	fd, err := unix.MemfdCreate(handoffName, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("seccomp handoff: %w", err)
	}
	file := os.NewFile(uintptr(fd), handoffName)
	if _, err := file.Write(b); err != nil {
		file.Close()
		return nil, fmt.Errorf("seccomp handoff: %w", err)
	}
	if _, err := unix.FcntlInt(file.Fd(), unix.F_ADD_SEALS, handoffSeals); err != nil {
		file.Close()
		return nil, fmt.Errorf("seccomp handoff: %w", err)
	}
	p.ExtraFiles = append([]*os.File{file}, p.ExtraFiles...)
	return func() { file.Close() }, nil
}

// relaySeccomp, in the init, reads a handed-off filter and, if there is
// one, interposes the relay that installs it.
func relaySeccomp() error {
	f, err := readHandoff(handoffFd)
	if err != nil || f == nil {
		return err
	}
	syncFd, err := strconv.Atoi(os.Getenv("_LIBCONTAINER_SYNCPIPE"))
	if err != nil {
		return fmt.Errorf("sync pipe: %w", err)
	}
	return interpose(syncFd, f)
}

// readHandoff returns the filter at fd, or nil when that file is not a
// handoff. The file is left to close when the program is executed, so that
// its number is not reused for something the program would get.
func readHandoff(fd int) (*seccomp.Filter, error) {
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	if err != nil || seals&handoffSeals != handoffSeals {
		return nil, nil // not a memfd, or not ours
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("seccomp handoff: %w", err)
	}
	b := make([]byte, st.Size)
	if _, err := unix.Pread(fd, b, 0); err != nil {
		return nil, fmt.Errorf("seccomp handoff: %w", err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		return nil, fmt.Errorf("seccomp handoff: %w", err)
	}
	var f seccomp.Filter
	if err := f.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return &f, nil
}

// interpose moves the parent's end of the sync socket away and puts one
// end of a new socket pair in its place, then relays between the two.
func interpose(syncFd int, f *seccomp.Filter) error {
	up, err := unix.FcntlInt(uintptr(syncFd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return fmt.Errorf("sync relay: %w", err)
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("sync relay: %w", err)
	}
	if err := unix.Dup3(pair[1], syncFd, unix.O_CLOEXEC); err != nil {
		return fmt.Errorf("sync relay: %w", err)
	}
	unix.Close(pair[1])
	down := pair[0]
	installed := false
	go relay(down, up, nil)
	go relay(up, down, func(msg []byte) error {
		if installed || !isProcRun(msg) {
			return nil
		}
		installed = true
		if err := f.Install(); err != nil {
			sendInitError(up, err)
			return err
		}
		return nil
	})
	return nil
}

func isProcRun(msg []byte) bool {
	var m struct{ Type string }
	return bytes.Contains(msg, []byte("procRun")) && json.Unmarshal(msg, &m) == nil && m.Type == "procRun"
}

// relay copies packets (and the files they carry) from src to dst until
// src ends, then shuts dst's writing side. before sees each packet first;
// an error from it ends the init.
func relay(src, dst int, before func([]byte) error) {
	for {
		msg, fds, err := recvPacket(src)
		if err != nil || (len(msg) == 0 && len(fds) == 0) {
			_ = unix.Shutdown(dst, unix.SHUT_WR)
			return
		}
		if before != nil {
			if err := before(msg); err != nil {
				os.Exit(1)
			}
		}
		var oob []byte
		if len(fds) > 0 {
			oob = unix.UnixRights(fds...)
		}
		err = unix.Sendmsg(dst, msg, oob, nil, 0)
		for _, fd := range fds {
			unix.Close(fd)
		}
		if err != nil {
			return
		}
	}
}

// recvPacket reads one packet whole, with any files attached.
func recvPacket(fd int) ([]byte, []int, error) {
	for {
		n, _, err := unix.Recvfrom(fd, nil, unix.MSG_PEEK|unix.MSG_TRUNC)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n == 0 { // 0: the peer closed or shut down
			return nil, nil, err
		}
		buf, oob := make([]byte, n), make([]byte, unix.CmsgSpace(4*16))
		n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		return buf[:n], parseRights(oob[:oobn]), nil
	}
}

func parseRights(oob []byte) []int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for i := range msgs {
		if got, err := unix.ParseUnixRights(&msgs[i]); err == nil {
			fds = append(fds, got...)
		}
	}
	return fds
}

// sendInitError reports a failure to the parent the way libcontainer's
// init does (a procError message), so creating the container fails with it.
func sendInitError(fd int, err error) {
	msg, _ := json.Marshal(map[string]any{"type": "procError", "arg": map[string]string{"message": err.Error()}})
	_ = unix.Sendmsg(fd, msg, nil, nil, 0)
}

// initFailed reports an error before libcontainer's init ran and exits.
func initFailed(err error) {
	if fd, convErr := strconv.Atoi(os.Getenv("_LIBCONTAINER_SYNCPIPE")); convErr == nil {
		sendInitError(fd, err)
	}
	os.Exit(1)
}
