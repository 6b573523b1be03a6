package cri

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	goruntime "runtime"
	"strconv"

	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/klite/klite/internal/runtime/container"
	"github.com/klite/klite/internal/runtime/streaming"
)

// Exec returns the URL to stream an interactive exec from.
func (s *Service) Exec(_ context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	if _, err := s.containers.Get(s.resolveContainer(req.GetContainerId())); err != nil {
		return nil, grpcError(err)
	}
	return s.stream.GetExec(req)
}

// Attach returns the URL to attach to a container's main process through.
func (s *Service) Attach(_ context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	if _, err := s.containers.Get(s.resolveContainer(req.GetContainerId())); err != nil {
		return nil, grpcError(err)
	}
	return s.stream.GetAttach(req)
}

// PortForward returns the URL to forward the sandbox's ports over.
func (s *Service) PortForward(_ context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	if _, err := s.sandboxes.Get(s.resolveSandbox(req.GetPodSandboxId())); err != nil {
		return nil, grpcError(err)
	}
	return s.stream.GetPortForward(req)
}

// Streaming returns the streaming server; Serve runs it, an in-process
// user (the kubelet) runs its Start itself.
func (s *Service) Streaming() *streaming.Server { return s.stream }

// streamRuntime adapts the Service to what the streaming server runs.
type streamRuntime struct{ s *Service }

func (r streamRuntime) Exec(ctx context.Context, id string, cmd []string, st streaming.Streams) (int, error) {
	eio := container.ExecIO{Stdin: st.Stdin, Stdout: st.Stdout, Stderr: st.Stderr, TTY: st.TTY, Resize: termSizes(st.Resize)}
	return r.s.containers.ExecStream(ctx, r.s.resolveContainer(id), cmd, eio)
}

// termSizes converts the streaming server's resizes to the container manager's.
func termSizes(in <-chan streaming.TermSize) <-chan container.TermSize {
	if in == nil {
		return nil
	}
	ch := make(chan container.TermSize, 4)
	go func() {
		defer close(ch)
		for size := range in {
			ch <- container.TermSize{Width: size.Width, Height: size.Height}
		}
	}()
	return ch
}

func (r streamRuntime) Attach(ctx context.Context, id string, st streaming.Streams) error {
	return r.s.containers.Attach(ctx, r.s.resolveContainer(id), st.Stdin, st.Stdout, st.Stderr, termSizes(st.Resize))
}

// PortForward connects stream to port on the pod's loopback.
func (r streamRuntime) PortForward(ctx context.Context, sandboxID string, port int32, stream io.ReadWriteCloser) error {
	sb, err := r.s.sandboxes.Get(r.s.resolveSandbox(sandboxID))
	if err != nil {
		return err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port)))
	var conn net.Conn
	if sb.Config.HostNetwork {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = dialInNetNS(sb.NamespacePath("net"), addr)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	go func() {
		_, _ = io.Copy(conn, stream)
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	_, err = io.Copy(stream, conn)
	return err
}

// dialInNetNS connects from inside the network namespace at path; the
// socket stays in that namespace after the thread that made it is gone.
func dialInNetNS(path, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		goruntime.LockOSThread() // never unlocked: the thread dies in the pod's netns
		f, err := os.Open(path)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{err: fmt.Errorf("enter pod netns: %w", err)}
			return
		}
		c, err := net.Dial("tcp", addr)
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}
