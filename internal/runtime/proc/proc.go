// Package proc reads process facts from /proc that the runtime needs to
// recognise its own long-lived processes (pause, shims, containers) again.
package proc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// stat returns the fields of /proc/<pid>/stat after the command name.
func stat(pid int) []string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(data)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}

// Alive reports whether pid exists and is not a zombie.
func Alive(pid int) bool {
	f := stat(pid)
	return pid > 0 && len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// Running reports whether the process with this pid and start time (see
// StartTime) still runs: it exists, is not a zombie and is not another
// process that reused the pid. One read of /proc/<pid>/stat.
func Running(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	f := stat(pid)
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return false
	}
	n, _ := strconv.ParseUint(f[19], 10, 64)
	return n == start
}

// StartTime returns pid's start time in clock ticks since boot (0 when
// the process does not exist); with the PID it identifies a process.
func StartTime(pid int) uint64 {
	f := stat(pid)
	if len(f) < 20 {
		return 0
	}
	n, _ := strconv.ParseUint(f[19], 10, 64)
	return n
}

// WaitGone polls until pid is gone or timeout passes; it reports whether
// the process is gone.
func WaitGone(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for Alive(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// Reap waits for the child p to exit and reaps it, without tying an OS
// thread to the wait as os.Process.Wait does: the child's pidfd waits in
// the Go runtime's poller (Linux 5.3+; elsewhere the wait blocks a thread
// as before). The runtime keeps a pause process and a shim per pod as its
// children: a thread each was ~40 KB of stack per process. The channel
// closes once the child is reaped.
func Reap(p *os.Process) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		awaitExit(p.Pid)
		_, _ = p.Wait() // returns at once: the child has exited
	}()
	return done
}

// awaitExit returns once the child pid has exited (it is left to reap), or
// at once when its pidfd cannot be polled.
func awaitExit(pid int) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	// A pidfd turns readable when its process exits.
	_ = rc.Read(func(fd uintptr) bool {
		ready := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(ready, 0)
		return err != nil || n > 0
	})
}
