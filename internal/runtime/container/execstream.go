package container

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/klite/klite/internal/runtime/runner"
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
// returns its exit code once it ends and its output has been copied. When
// ctx ends first, the process is killed.
func (m *Manager) ExecStream(ctx context.Context, id string, cmd []string, eio ExecIO) (int, error) {
	c, err := m.execTarget(id, cmd)
	if err != nil {
		return 0, err
	}
	ep := runner.ExecProcess{Args: cmd, TTY: eio.TTY}
	if !eio.TTY {
		ep.Stdin, ep.Stdout, ep.Stderr = eio.Stdin, eio.Stdout, eio.Stderr
	}
	p, err := m.rt.Exec(id, c.Dir, ep)
	if err != nil {
		return 0, err
	}
	if !eio.TTY {
		return waitOrKill(ctx, p)
	}
	console := p.Console()
	defer console.Close()
	stopResizes := forwardResizes(p, eio.Resize)
	defer stopResizes() // before the terminal closes
	copied := pumpTerminal(console, eio)
	code, err := waitOrKill(ctx, p)
	select { // output still buffered in the terminal drains quickly
	case <-copied:
	case <-time.After(2 * time.Second):
	}
	return code, err
}

// forwardResizes passes terminal size changes on to the process's
// terminal until the returned function is called (it returns once no
// resize is in progress).
func forwardResizes(p runner.Process, in <-chan TermSize) (stop func()) {
	stopping, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case s, ok := <-in: // a nil channel never delivers
				if !ok {
					return
				}
				_ = p.Resize(s.Width, s.Height)
			case <-stopping:
				return
			}
		}
	}()
	return func() { close(stopping); <-stopped }
}

// pumpTerminal copies between the terminal and the streams and closes the
// returned channel when the output ends.
func pumpTerminal(console *os.File, eio ExecIO) <-chan struct{} {
	done := make(chan struct{})
	if eio.Stdin != nil {
		go func() { _, _ = io.Copy(console, eio.Stdin) }()
	}
	go func() {
		defer close(done)
		if eio.Stdout != nil {
			_, _ = io.Copy(eio.Stdout, console) // ends with EIO once the process exits
		}
	}()
	return done
}
