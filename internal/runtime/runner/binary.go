package runner

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Binary runs an OCI runtime binary (runc's command line: crun and others
// speak it too).
type Binary struct {
	path, root string
}

var _ Runtime = (*Binary)(nil)

// NewBinary returns the runtime binary path (looked up in PATH when it has
// no slash) keeping its state under root.
func NewBinary(path, root string) (*Binary, error) {
	p, err := exec.LookPath(path)
	if err != nil {
		return nil, fmt.Errorf("OCI runtime %q: %w", path, err)
	}
	return &Binary{path: p, root: root}, nil
}

func (b *Binary) command(args ...string) *exec.Cmd {
	return exec.Command(b.path, append([]string{"--root", b.root}, args...)...)
}

// Create runs `runc create`, with a console socket when the bundle asks
// for a terminal.
func (b *Binary) Create(id, bundle string, stdio CreateIO) (*Created, error) {
	spec, err := readSpec(bundle)
	if err != nil {
		return nil, err
	}
	pidFile := filepath.Join(bundle, "init.pid")
	defer os.Remove(pidFile)
	args := []string{"create", "--bundle", bundle, "--pid-file", pidFile}
	if stdio.LogPath != "" {
		args = append([]string{"--log", stdio.LogPath, "--log-format", "json"}, args...)
	}
	var console *consoleListener
	if spec.Process != nil && spec.Process.Terminal {
		if console, err = listenConsole(); err != nil {
			return nil, err
		}
		defer console.close()
		args = append(args, "--console-socket", console.path)
	}
	cmd := b.command(append(args, id)...)
	if console == nil {
		setStdio(cmd, stdio.Stdin, stdio.Stdout, stdio.Stderr)
	}
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("runc create: %s", lastLogError(stdio.LogPath, err))
	}
	pid, err := readPid(pidFile)
	if err != nil {
		return nil, fmt.Errorf("runc create: container pid: %w", err)
	}
	c := &Created{Pid: pid}
	if console != nil {
		if c.Console, err = console.receive(10 * time.Second); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// setStdio gives cmd the files (nil leaves /dev/null); typed nil files
// must not become non-nil interfaces.
func setStdio(cmd *exec.Cmd, in, out, errOut *os.File) {
	if in != nil {
		cmd.Stdin = in
	}
	if out != nil {
		cmd.Stdout = out
	}
	if errOut != nil {
		cmd.Stderr = errOut
	}
}

// Start runs `runc start`.
func (b *Binary) Start(id string) error {
	if out, err := b.command("start", id).CombinedOutput(); err != nil {
		return fmt.Errorf("runc start %s: %w: %s", id, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Delete runs `runc delete --force` unless runc has no state for id.
func (b *Binary) Delete(id string) error {
	out, err := b.command("delete", "--force", id).CombinedOutput()
	if err != nil && knows(b.root, id) {
		return fmt.Errorf("runc delete %s: %w: %s", id, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// knows reports whether root holds state for container id.
func knows(root, id string) bool {
	_, err := os.Stat(filepath.Join(root, id))
	return err == nil
}

// Exec runs `runc exec` in the foreground. With a TTY, runc's stdio is a
// terminal of ours: runc copies between it and the container's terminal
// and passes our size on when it gets SIGWINCH.
func (b *Binary) Exec(id, bundle string, p ExecProcess) (Process, error) {
	pidFile := p.PidFile
	if pidFile == "" {
		pidFile = filepath.Join(bundle, "exec-"+randomHex()+".pid")
	}
	args := []string{"exec", "--pid-file", pidFile}
	if p.TTY {
		args = append(args, "--tty")
	}
	cmd := b.command(append(append(args, id), p.Args...)...)
	bp := &binaryProcess{cmd: cmd, pidFile: pidFile, removePidFile: p.PidFile == "", exited: make(chan struct{})}
	if !p.TTY {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = p.Stdin, p.Stdout, p.Stderr
		cmd.WaitDelay = drainTimeout
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("runc exec: %w", err)
		}
		return bp, nil
	}
	master, slave, err := openPTY()
	if err != nil {
		return nil, fmt.Errorf("exec tty: %w", err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	err = cmd.Start()
	slave.Close() // runc holds it now; the master reads EIO once runc is gone
	if err != nil {
		master.Close()
		return nil, fmt.Errorf("runc exec: %w", err)
	}
	bp.console = master
	return bp, nil
}

// binaryProcess is a `runc exec` and the process it runs.
type binaryProcess struct {
	cmd           *exec.Cmd
	console       *os.File
	pidFile       string
	removePidFile bool
	exited        chan struct{} // closed once runc has been reaped
}

func (p *binaryProcess) Console() *os.File { return p.console }

// Resize sizes our terminal and tells runc (SIGWINCH), which passes the
// size on to the container's terminal.
func (p *binaryProcess) Resize(width, height uint16) error {
	if p.console == nil {
		return errors.New("exec has no terminal")
	}
	if err := setWinsize(p.console, width, height); err != nil {
		return err
	}
	return p.cmd.Process.Signal(unix.SIGWINCH)
}

// Kill kills the process in the container; runc, its parent, then reaps
// it and exits (killed first, runc would leave it running). It waits for
// runc to write the pid (a slow machine may still be setting up) and
// kills runc itself only when none comes.
func (p *binaryProcess) Kill() error {
	for deadline := time.Now().Add(killWait); time.Now().Before(deadline); {
		if pid, err := readPid(p.pidFile); err == nil && pid > 0 {
			return unix.Kill(pid, unix.SIGKILL)
		}
		select {
		case <-p.exited:
			return nil
		case <-time.After(10 * time.Millisecond):
		}
	}
	return p.cmd.Process.Kill()
}

// killWait bounds how long Kill waits for runc to report the pid.
const killWait = 5 * time.Second

func (p *binaryProcess) Wait() (int, error) {
	err := p.cmd.Wait()
	close(p.exited)
	if p.removePidFile {
		os.Remove(p.pidFile)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return exitStatus(ee.ProcessState), nil
	}
	if errors.Is(err, exec.ErrWaitDelay) {
		return exitStatus(p.cmd.ProcessState), nil
	}
	return 0, err
}

// exitStatus is the exit code, or 128+signal for a killed process.
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// lastLogError returns the last error message in runc's JSON log.
func lastLogError(path string, fallback error) string {
	msg := fallback.Error()
	if path == "" {
		return msg
	}
	b, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(b), "\n") {
		var entry struct{ Level, Msg string }
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Level == "error" {
			msg = entry.Msg
		}
	}
	return msg
}

func randomHex() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// consoleListener is a unix socket a runtime binary passes a terminal's
// master over (--console-socket).
type consoleListener struct {
	ln   *net.UnixListener
	dir  string
	path string
}

func listenConsole() (*consoleListener, error) {
	dir, err := os.MkdirTemp("", "klite-console-") // short enough for a socket address
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "c.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("console socket: %w", err)
	}
	return &consoleListener{ln: ln, dir: dir, path: path}, nil
}

func (c *consoleListener) close() {
	c.ln.Close()
	os.RemoveAll(c.dir)
}

// receive accepts the runtime's connection and takes the master it sends.
func (c *consoleListener) receive(timeout time.Duration) (*os.File, error) {
	_ = c.ln.SetDeadline(time.Now().Add(timeout))
	conn, err := c.ln.AcceptUnix()
	if err != nil {
		return nil, fmt.Errorf("runtime passed no terminal: %w", err)
	}
	defer conn.Close()
	f, err := c.fileFrom(conn)
	if err != nil {
		return nil, fmt.Errorf("runtime passed no terminal: %w", err)
	}
	return f, nil
}

func (c *consoleListener) fileFrom(conn *net.UnixConn) (*os.File, error) {
	raw, err := conn.File()
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	return recvFile(int(raw.Fd()))
}
