package shim

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/klite/klite/internal/runtime/cgroups"
	"github.com/klite/klite/internal/runtime/runner"
)

// drainTimeout bounds how long output is copied after the container's
// init exited (a leftover process may hold the pipes open).
const drainTimeout = 2 * time.Second

func run(cfg Config) int {
	ready := os.NewFile(3, "ready")
	fail := func(format string, args ...any) int {
		fmt.Fprintf(ready, "error "+format+"\n", args...)
		return 1
	}
	signal.Ignore(unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGPIPE)
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fail("set subreaper: %v", err)
	}
	_ = os.WriteFile(ShimPidPath(cfg.StateDir), []byte(strconv.Itoa(os.Getpid())), 0o600)
	maxFiles := cfg.LogMaxFiles
	if maxFiles == 0 {
		maxFiles = 5
	}
	log, err := openLog(cfg.LogPath, cfg.LogMaxSize, maxFiles)
	if err != nil {
		return fail("open log: %v", err)
	}
	cio, err := createContainer(cfg)
	if err != nil {
		return fail("%v", err)
	}
	attach, err := listenAttach(cfg.StateDir, cio.stdin, cfg.StdinOnce, cio.console)
	if err != nil {
		return fail("attach socket: %v", err)
	}
	pid := cio.pid
	_ = os.WriteFile(PidPath(cfg.StateDir), []byte(strconv.Itoa(pid)), 0o600)
	fmt.Fprintf(ready, "ok %d\n", pid)
	ready.Close()
	settle()

	go reopenOnSignal(log)
	copying := cio.copyOutput(log, attach)
	exit := reapUntil(pid)
	waitTimeout(copying, drainTimeout)
	attach.close()
	if m, err := cgroups.Detect(); err == nil && cfg.CgroupsPath != "" {
		exit.OOMKilled = m.OOMKills(cfg.CgroupsPath) > 0
	}
	if err := writeExit(cfg.StateDir, exit); err != nil {
		return 1
	}
	return 0
}

// settle shrinks the shim once the container runs: from here on it only
// copies output and waits, one per container for the container's life.
// Creating the container is done with, so its garbage goes back to the
// system, and the heap stays near its live size (mostly what klite's
// package initialisation built, ~3 MB) instead of doubling it.
func settle() {
	debug.SetGCPercent(25)
	debug.FreeOSMemory()
}

// containerIO is the shim's side of the container's stdio.
type containerIO struct {
	pid            int      // the container init's
	stdout, stderr *os.File // read ends; a terminal's output arrives on stdout
	stdin          *os.File // write end; nil without stdin (or with a terminal)
	console        *os.File // the terminal's master; nil without one
}

// createContainer creates the container through the OCI runtime, with
// pipes as its stdio, or with a terminal whose master the runtime hands
// back.
func createContainer(cfg Config) (*containerIO, error) {
	rt, err := runner.New(cfg.RuncPath, cfg.RuncRoot)
	if err != nil {
		return nil, err
	}
	stdio := runner.CreateIO{LogPath: filepath.Join(cfg.StateDir, "runc.log")}
	if cfg.Terminal {
		c, err := rt.Create(cfg.ID, cfg.Bundle, stdio)
		if err != nil {
			return nil, err
		}
		return &containerIO{pid: c.Pid, stdout: c.Console, console: c.Console}, nil
	}
	outR, outW, err1 := os.Pipe()
	errR, errW, err2 := os.Pipe()
	inR, inW, err3 := stdinPipe(cfg.Stdin)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("pipes: %w", err)
	}
	stdio.Stdin, stdio.Stdout, stdio.Stderr = inR, outW, errW
	c, err := rt.Create(cfg.ID, cfg.Bundle, stdio)
	outW.Close()
	errW.Close()
	if inR != nil {
		inR.Close()
	}
	if err != nil {
		return nil, err
	}
	return &containerIO{pid: c.Pid, stdout: outR, stderr: errR, stdin: inW}, nil
}

// copyOutput copies the container's output to the log and attached
// clients; the WaitGroup is done when the output has ended.
func (c *containerIO) copyOutput(log *logFile, attach *attachServer) *sync.WaitGroup {
	var wg sync.WaitGroup
	for _, s := range []struct {
		f     *os.File
		name  string
		frame byte
	}{{c.stdout, "stdout", FrameStdout}, {c.stderr, "stderr", FrameStderr}} {
		if s.f == nil {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); copyStream(s.f, s.name, log, tee(attach, s.frame)) }()
	}
	return &wg
}

// stdinPipe returns the container's stdin (nil: /dev/null) and the shim's end.
func stdinPipe(want bool) (r, w *os.File, err error) {
	if !want {
		return nil, nil, nil
	}
	return os.Pipe()
}

// tee sends copied output to attached clients too.
func tee(a *attachServer, stream byte) func([]byte) {
	return func(b []byte) { a.broadcast(stream, b) }
}

// reapUntil reaps children (the shim is a subreaper) until pid exits.
func reapUntil(pid int) Exit {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil { // ECHILD: pid is not ours; watch it instead
			for unix.Kill(pid, 0) == nil {
				time.Sleep(50 * time.Millisecond)
			}
			return Exit{Code: 255, FinishedAt: time.Now().UTC()}
		}
		if got != pid {
			continue
		}
		e := Exit{Code: ws.ExitStatus(), FinishedAt: time.Now().UTC()}
		if ws.Signaled() {
			e.Signal = int(ws.Signal())
			e.Code = 128 + e.Signal
		}
		return e
	}
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

func writeExit(dir string, e Exit) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	tmp := ExitPath(dir) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, ExitPath(dir))
}

func reopenOnSignal(l *logFile) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, unix.SIGUSR1)
	for range c {
		_ = l.reopen()
	}
}
