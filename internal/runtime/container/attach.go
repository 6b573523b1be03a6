package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/klite/klite/internal/runtime/shim"
)

// Attach connects to a running container's stdio through its shim: output
// produced from now on goes to stdout and stderr (either may be nil), stdin
// (if set and the container has one) feeds the container, and resizes
// apply to its terminal (if it has one). It returns when the container's
// output ends, or ctx is cancelled.
func (m *Manager) Attach(ctx context.Context, id string, stdin io.Reader, stdout, stderr io.Writer, resize <-chan TermSize) error {
	c, err := m.Get(id)
	if err != nil {
		return err
	}
	if c.State != Running {
		return fmt.Errorf("container %s is %s, not Running", id, c.State)
	}
	conn, err := shim.DialAttach(c.Dir)
	if err != nil {
		return fmt.Errorf("attach to %s: %w", id, err)
	}
	defer conn.Close()
	go func() {
		<-ctx.Done()
		conn.Close()
	}()
	var wmu sync.Mutex // frames from two goroutines must not interleave
	send := func(typ byte, data []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		return shim.WriteFrame(conn, typ, data)
	}
	if stdin != nil && c.Config.Stdin {
		go func() {
			_ = copyFrames(stdin, send)
			wmu.Lock()
			_ = conn.CloseWrite()
			wmu.Unlock()
		}()
	}
	if resize != nil {
		go func() {
			for s := range resize {
				b := []byte{byte(s.Width >> 8), byte(s.Width), byte(s.Height >> 8), byte(s.Height)}
				if send(shim.FrameResize, b) != nil {
					return
				}
			}
		}()
	}
	return demux(conn, stdout, stderr)
}

// copyFrames sends r's bytes as stdin frames until EOF.
func copyFrames(r io.Reader, send func(byte, []byte) error) error {
	buf := make([]byte, 32*1024)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if serr := send(shim.FrameStdin, buf[:n]); serr != nil {
				return serr
			}
		}
		if err != nil {
			return err
		}
	}
}

// demux writes the shim's frames to the matching writer until the end.
func demux(conn net.Conn, stdout, stderr io.Writer) error {
	for {
		stream, data, err := shim.ReadFrame(conn)
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			return err
		}
		w := stdout
		if stream == shim.FrameStderr {
			w = stderr
		}
		if w != nil {
			if _, err := w.Write(data); err != nil {
				return err
			}
		}
	}
}
