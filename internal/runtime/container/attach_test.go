package container

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/klite/klite/internal/runtime/sandbox"
)

func TestAttachWithStdinOnce(t *testing.T) {
	e := newEnv(t)
	sb := e.pod(t, sandbox.Config{Name: "att", Namespace: "default", UID: "u8", Hostname: "att"})
	c := e.run(t, sb, Config{Name: "reader", Stdin: true, StdinOnce: true, Command: []string{"sh", "-c",
		`echo ready; while read l; do echo "got $l"; echo "err $l" >&2; done; echo bye`}})
	waitLog(t, c.LogPath, "stdout ready")

	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.containers.Attach(ctx, c.ID, strings.NewReader("hello\n"), &stdout, &stderr, nil); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "got hello\nbye\n" || stderr.String() != "err hello\n" {
		t.Errorf("attached stdout %q stderr %q", stdout.String(), stderr.String())
	}
	// Closing stdin (stdinOnce) ended the loop, so the container exited 0.
	if got := e.waitExited(t, c.ID, 5*time.Second); got.ExitCode != 0 {
		t.Errorf("exit %d", got.ExitCode)
	}
	lines := logLines(t, c.LogPath)
	if !contains(lines, "stdout got hello") || !contains(lines, "stderr err hello") {
		t.Errorf("log lacks the attached session: %q", lines)
	}
}

func TestAttachOutputOnly(t *testing.T) {
	e := newEnv(t)
	sb := e.pod(t, sandbox.Config{Name: "tick", Namespace: "default", UID: "u9", Hostname: "tick"})
	c := e.run(t, sb, Config{Name: "ticker", Command: []string{"sh", "-c", "while :; do echo tick; sleep 0.05; done"}})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var out bytes.Buffer
	if err := e.containers.Attach(ctx, c.ID, nil, &out, nil, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "tick\n") {
		t.Errorf("attached output %q", out.String())
	}
}

// delayed returns its text only after a pause, so that what was sent
// before (a resize) arrives first.
type delayed struct {
	text string
	done bool
}

func (d *delayed) Read(p []byte) (int, error) {
	if d.done {
		return 0, io.EOF
	}
	time.Sleep(300 * time.Millisecond)
	d.done = true
	return copy(p, d.text), nil
}

func TestAttachToTerminal(t *testing.T) {
	e := newEnv(t)
	sb := e.pod(t, sandbox.Config{Name: "tty", Namespace: "default", UID: "u11", Hostname: "tty"})
	c := e.run(t, sb, Config{Name: "term", TTY: true, Stdin: true, Command: []string{"sh", "-c",
		`tty; read l; stty size; echo "got $l"`}})
	waitLog(t, c.LogPath, "stdout /dev/pts/0")

	resize := make(chan TermSize, 1)
	resize <- TermSize{Width: 100, Height: 30}
	close(resize)
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.containers.Attach(ctx, c.ID, &delayed{text: "hi\n"}, &out, nil, resize); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "30 100") || !strings.Contains(out.String(), "got hi") {
		t.Errorf("terminal output %q lacks the resized size or the echo", out.String())
	}
	e.waitExited(t, c.ID, 5*time.Second)
	if lines := logLines(t, c.LogPath); !contains(lines, "stdout got hi") {
		t.Errorf("log %q lacks the output (without the terminal's \\r)", lines)
	}
}
