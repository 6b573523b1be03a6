// Package pause runs a pod's infra ("pause") process: klite re-executed as
// argv[0] "klite-pause" in new network, IPC and UTS (and optionally PID)
// namespaces. It sets the pod's hostname, reaps orphans when it is PID 1,
// and otherwise sleeps until SIGTERM/SIGINT. Its namespaces are the pod's;
// containers join them through /proc/<pid>/ns/*.
//
// The binary must call MaybeRun first thing in main (tests: in TestMain).
package pause

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/klite/klite/internal/runtime/proc"
)

// Argv0 marks a re-executed klite as a pause process.
const Argv0 = "klite-pause"

const envHostname = "KLITE_PAUSE_HOSTNAME"

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
	done chan struct{}
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
		Args:       []string{Argv0},
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
	p := &Process{Pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
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

// MaybeRun runs the pause process and never returns when argv[0] says this
// is one; otherwise it returns false at once.
func MaybeRun() bool {
	if len(os.Args) == 0 || os.Args[0] != Argv0 {
		return false
	}
	run()
	return true
}

func run() {
	ready := os.NewFile(3, "ready")
	if h := os.Getenv(envHostname); h != "" {
		if err := unix.Sethostname([]byte(h)); err != nil {
			fmt.Fprintf(ready, "sethostname: %v\n", err)
			os.Exit(1)
		}
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGCHLD)
	fmt.Fprint(ready, "ok\n")
	ready.Close()
	for s := range sigs {
		if s != unix.SIGCHLD {
			os.Exit(0)
		}
		reap()
	}
}

func reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
