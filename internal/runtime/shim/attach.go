package shim

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Attach protocol on <state>/attach.sock, in both directions frames of
// [type byte][uint32 big-endian length][bytes]: the shim sends the
// container's output (stdout, stderr); a client sends stdin bytes and
// terminal resizes (width, height as two big-endian uint16). A client
// closing its write side ends its stdin.
const (
	FrameStdout byte = 1
	FrameStderr byte = 2
	FrameStdin  byte = 3
	FrameResize byte = 4
)

// attachSocket is the attach socket's name in the state dir.
const attachSocket = "attach.sock"

// writeTimeout drops an attached client that stops reading.
const writeTimeout = 5 * time.Second

// ShortPath returns a path to name in dir short enough for a unix socket
// address (108 bytes), through /proc/<pid>/fd (usable by other processes
// too, such as runc); call the returned close function once the socket is
// bound or connected.
func ShortPath(dir, name string) (string, func(), error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("/proc/%d/fd/%d/%s", os.Getpid(), fd, name), func() { unix.Close(fd) }, nil
}

// DialAttach connects to a container's shim for attaching.
func DialAttach(stateDir string) (*net.UnixConn, error) {
	p, done, err := ShortPath(stateDir, attachSocket)
	if err != nil {
		return nil, err
	}
	defer done()
	return net.DialUnix("unix", nil, &net.UnixAddr{Name: p, Net: "unix"})
}

// WriteFrame writes one frame.
func WriteFrame(w io.Writer, typ byte, data []byte) error {
	_, err := w.Write(frame(typ, data))
	return err
}

func frame(typ byte, data []byte) []byte {
	f := make([]byte, 5+len(data))
	f[0] = typ
	binary.BigEndian.PutUint32(f[1:], uint32(len(data)))
	copy(f[5:], data)
	return f
}

// ReadFrame reads one frame.
func ReadFrame(r io.Reader) (stream byte, data []byte, err error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	data = make([]byte, binary.BigEndian.Uint32(hdr[1:]))
	_, err = io.ReadFull(r, data)
	return hdr[0], data, err
}

// attachServer fans the container's output out to attached clients and
// feeds their input to the container's stdin.
type attachServer struct {
	ln        *net.UnixListener
	stdin     *os.File // nil: the container has no stdin
	stdinOnce bool
	// console is the container's terminal (nil without one): input goes
	// there and resizes apply to it.
	console *os.File

	mu      sync.Mutex
	clients map[*net.UnixConn]bool
	closed  bool
}

func listenAttach(stateDir string, stdin *os.File, stdinOnce bool, console *os.File) (*attachServer, error) {
	p, done, err := ShortPath(stateDir, attachSocket)
	if err != nil {
		return nil, err
	}
	defer done()
	_ = os.Remove(filepath.Join(stateDir, attachSocket))
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
	if err != nil {
		return nil, err
	}
	_ = os.Chmod(filepath.Join(stateDir, attachSocket), 0o600)
	a := &attachServer{ln: ln, stdin: stdin, stdinOnce: stdinOnce, console: console, clients: map[*net.UnixConn]bool{}}
	go a.serve()
	return a, nil
}

func (a *attachServer) serve() {
	for {
		c, err := a.ln.AcceptUnix()
		if err != nil {
			return
		}
		a.mu.Lock()
		if a.closed {
			a.mu.Unlock()
			c.Close()
			return
		}
		a.clients[c] = true
		a.mu.Unlock()
		go a.input(c)
	}
}

// input applies a client's frames: stdin bytes to the container's stdin
// (or terminal), resizes to its terminal. With stdinOnce the container's
// stdin closes when the first client finishes.
func (a *attachServer) input(c *net.UnixConn) {
	in := a.stdin
	if a.console != nil {
		in = a.console
	}
	for {
		typ, data, err := ReadFrame(c)
		if err != nil {
			break
		}
		switch {
		case typ == FrameStdin && in != nil:
			_, _ = in.Write(data)
		case typ == FrameResize && a.console != nil && len(data) == 4:
			ws := &unix.Winsize{Col: binary.BigEndian.Uint16(data), Row: binary.BigEndian.Uint16(data[2:])}
			_ = unix.IoctlSetWinsize(int(a.console.Fd()), unix.TIOCSWINSZ, ws)
		}
	}
	if a.stdinOnce && a.stdin != nil {
		_ = a.stdin.Close()
	}
}

// broadcast sends data from one stream to every attached client.
func (a *attachServer) broadcast(stream byte, data []byte) {
	frame := frame(stream, data)
	a.mu.Lock()
	defer a.mu.Unlock()
	for c := range a.clients {
		_ = c.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := c.Write(frame); err != nil { // a half-written frame ends the client too
			delete(a.clients, c)
			c.Close()
		}
	}
}

// close disconnects every client; they see the end of the output.
func (a *attachServer) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	_ = a.ln.Close()
	for c := range a.clients {
		c.Close()
	}
	if a.stdin != nil {
		_ = a.stdin.Close()
	}
}
