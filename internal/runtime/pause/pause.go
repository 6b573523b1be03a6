// Package pause runs a pod's infra ("pause") process: klite re-executed as
// argv[0] "klite-pause" in new network, IPC and UTS (and optionally PID)
// namespaces. It sets the pod's hostname, reaps orphans when it is PID 1,
// and otherwise sleeps until SIGTERM/SIGINT. Its namespaces are the pod's;
// containers join them through /proc/<pid>/ns/*.
//
// The process itself is C (pause.c), run by a constructor before the Go
// runtime starts: any binary that links this package can be re-executed as a
// pause process, and a pod's infra process stays a few hundred KiB.
package pause

// #cgo CFLAGS: -Wall -Werror
import "C"

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/klite/klite/internal/runtime/proc"
)

// argv0 marks a re-executed klite as a pause process (pause.c checks it).
const argv0 = "klite-pause"

const envHostname = "KLITE_PAUSE_HOSTNAME" // read by pause.c

// Config says which namespaces the pause process creates.
type Config struct {
	Hostname string
	// HostNetwork keeps the host's network and UTS namespaces.
	HostNetwork bool
	// HostIPC keeps the host's IPC namespace.
	HostIPC bool
	// NewPID gives the pod its own PID namespace (shareProcessNamespace).
	NewPID bool
}

// Process is a started pause process.
type Process struct {
	Pid int
	// done is closed once the process has been reaped.
	done <-chan struct{}
}

// Start launches the pause process and waits until its hostname is set.
func Start(cfg Config) (*Process, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var env []string
	if !cfg.HostNetwork { // never rename the host
		env = append(env, envHostname+"="+cfg.Hostname)
	}
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{argv0},
		Env:        env,
		ExtraFiles: []*os.File{w},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: cloneFlags(cfg),
			Setsid:     true,
		},
	}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("start pause process: %w", err)
	}
	w.Close()
	p := &Process{Pid: cmd.Process.Pid, done: proc.Reap(cmd.Process)}
	line, err := bufio.NewReader(r).ReadString('\n')
	if line != "ok\n" {
		_ = cmd.Process.Kill()
		<-p.done
		return nil, fmt.Errorf("pause process failed: %q %v", line, err)
	}
	return p, nil
}

func cloneFlags(cfg Config) uintptr {
	var f uintptr
	if !cfg.HostNetwork {
		f |= unix.CLONE_NEWNET | unix.CLONE_NEWUTS
	}
	if !cfg.HostIPC {
		f |= unix.CLONE_NEWIPC
	}
	if cfg.NewPID {
		f |= unix.CLONE_NEWPID
	}
	return f
}

// Kill stops a pause process by pid (it may not be our child after a
// restart) and waits up to timeout for it to disappear.
func Kill(pid int, timeout time.Duration) error {
	if pid <= 0 {
		return nil
	}
	if err := unix.Kill(pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("kill pause %d: %w", pid, err)
	}
	if !proc.WaitGone(pid, timeout) {
		return fmt.Errorf("pause %d still alive after %s", pid, timeout)
	}
	return nil
}

// Wait returns a channel closed once a process started by Start has exited.
func (p *Process) Wait() <-chan struct{} { return p.done }
