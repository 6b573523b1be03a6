package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// TermSize is a terminal's size in characters.
type TermSize struct{ Width, Height uint16 }

// ExecIO are the streams of an interactive exec; nil streams are not
// connected. With TTY, the process gets a terminal and Stderr is unused.
type ExecIO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	TTY            bool
	// Resize delivers terminal size changes (TTY only); may be nil.
	Resize <-chan TermSize
}

// ExecStream runs cmd in a running container with the given streams and
// returns its exit code once it ends and its output has been copied.
func (m *Manager) ExecStream(ctx context.Context, id string, cmd []string, eio ExecIO) (int, error) {
	c, err := m.Get(id)
	if err != nil {
		return 0, err
	}
	if c.State != Running {
		return 0, fmt.Errorf("container %s is %s, not Running", id, c.State)
	}
	if len(cmd) == 0 {
		return 0, errors.New("exec: empty command")
	}
	if eio.TTY {
		return m.execTTY(ctx, id, cmd, eio)
	}
	ec := exec.CommandContext(ctx, m.cfg.RuncPath, append([]string{"--root", m.cfg.RuncRoot, "exec", id}, cmd...)...)
	ec.Stdin, ec.Stdout, ec.Stderr = eio.Stdin, eio.Stdout, eio.Stderr
	return exitCode(ec.Run())
}

func exitCode(err error) (int, error) {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	return 0, err
}

// execTTY runs `runc exec --tty` in the foreground with a terminal of
// ours as runc's stdio: runc proxies between it and the container's
// terminal, and resizes the container's when it gets SIGWINCH.
func (m *Manager) execTTY(ctx context.Context, id string, cmd []string, eio ExecIO) (int, error) {
	master, slave, err := openPTY()
	if err != nil {
		return 0, fmt.Errorf("exec tty: %w", err)
	}
	defer master.Close()
	args := append([]string{"--root", m.cfg.RuncRoot, "exec", "--tty", id}, cmd...)
	ec := exec.CommandContext(ctx, m.cfg.RuncPath, args...)
	ec.Stdin, ec.Stdout, ec.Stderr = slave, slave, slave
	ec.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	err = ec.Start()
	slave.Close() // runc holds it now; the master reads EIO once runc is gone
	if err != nil {
		return 0, err
	}
	forwardResizes(master, ec.Process, eio.Resize)
	copied := pumpTerminal(master, eio)
	err = ec.Wait()
	select { // output still buffered in the terminal drains quickly
	case <-copied:
	case <-time.After(2 * time.Second):
	}
	return exitCode(err)
}

// forwardResizes sizes the terminal and tells runc (SIGWINCH), which passes
// the size on to the container's terminal.
func forwardResizes(master *os.File, p *os.Process, in <-chan TermSize) {
	if in == nil {
		return
	}
	go func() {
		for s := range in {
			_ = unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: s.Height, Col: s.Width})
			_ = p.Signal(unix.SIGWINCH)
		}
	}()
}

// openPTY opens a new pseudo-terminal pair.
func openPTY() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("pty number: %w", err)
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

// pumpTerminal copies between the terminal and the streams and closes the
// returned channel when the output ends.
func pumpTerminal(master *os.File, eio ExecIO) <-chan struct{} {
	done := make(chan struct{})
	if eio.Stdin != nil {
		go func() { _, _ = io.Copy(master, eio.Stdin) }()
	}
	go func() {
		defer close(done)
		if eio.Stdout != nil {
			_, _ = io.Copy(eio.Stdout, master) // ends with EIO once the process exits
		}
	}()
	return done
}
