package shim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/klite/klite/internal/runtime/cgroups"
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
	pid, err := readPid(PidPath(cfg.StateDir))
	if err != nil {
		return fail("container pid: %v", err)
	}
	fmt.Fprintf(ready, "ok %d\n", pid)
	ready.Close()

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

// containerIO is the shim's side of the container's stdio.
type containerIO struct {
	stdout, stderr *os.File // read ends; a terminal's output arrives on stdout
	stdin          *os.File // write end; nil without stdin (or with a terminal)
	console        *os.File // the terminal's master; nil without one
}

// createContainer runs `runc create` with pipes, or with a terminal whose
// master runc passes back over a console socket.
func createContainer(cfg Config) (*containerIO, error) {
	if cfg.Terminal {
		return createWithTerminal(cfg)
	}
	outR, outW, err1 := os.Pipe()
	errR, errW, err2 := os.Pipe()
	inR, inW, err3 := stdinPipe(cfg.Stdin)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("pipes: %w", err)
	}
	err := runcCreate(cfg, inR, outW, errW, "")
	outW.Close()
	errW.Close()
	if inR != nil {
		inR.Close()
	}
	if err != nil {
		return nil, err
	}
	return &containerIO{stdout: outR, stderr: errR, stdin: inW}, nil
}

func createWithTerminal(cfg Config) (*containerIO, error) {
	sock, done, err := ShortPath(cfg.StateDir, "console.sock")
	if err != nil {
		return nil, err
	}
	defer done()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	defer ln.Close()
	got := make(chan *os.File, 1)
	go func() { got <- receiveConsole(ln) }()
	if err := runcCreate(cfg, nil, nil, nil, sock); err != nil {
		return nil, err
	}
	select {
	case f := <-got:
		if f == nil {
			return nil, errors.New("runc passed no terminal")
		}
		return &containerIO{stdout: f, console: f}, nil
	case <-time.After(10 * time.Second):
		return nil, errors.New("runc passed no terminal")
	}
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

// receiveConsole accepts runc's connection and takes the terminal master
// it passes as SCM_RIGHTS; nil on failure.
func receiveConsole(ln *net.UnixListener) *os.File {
	conn, err := ln.AcceptUnix()
	if err != nil {
		return nil
	}
	defer conn.Close()
	buf, oob := make([]byte, 256), make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil
	}
	return os.NewFile(uintptr(fds[0]), "console")
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

func runcCreate(cfg Config, stdin, stdout, stderr *os.File, consoleSocket string) error {
	runcLog := cfg.StateDir + "/runc.log"
	args := []string{"--root", cfg.RuncRoot, "--log", runcLog, "--log-format", "json",
		"create", "--bundle", cfg.Bundle, "--pid-file", PidPath(cfg.StateDir)}
	if consoleSocket != "" {
		args = append(args, "--console-socket", consoleSocket)
	}
	cmd := exec.Command(cfg.RuncPath, append(args, cfg.ID)...)
	if stdout != nil {
		cmd.Stdout, cmd.Stderr = stdout, stderr
	}
	if stdin != nil {
		cmd.Stdin = stdin
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("runc create: %s", lastRuncError(runcLog, err))
	}
	return nil
}

// lastRuncError returns the last error message in runc's JSON log.
func lastRuncError(path string, fallback error) string {
	b, _ := os.ReadFile(path)
	msg := fallback.Error()
	for _, line := range strings.Split(string(b), "\n") {
		var entry struct{ Level, Msg string }
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Level == "error" {
			msg = entry.Msg
		}
	}
	return msg
}

func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
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
