package streaming

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/portforward"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	utilexec "k8s.io/client-go/util/exec"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// hostRuntime is a complete Runtime that runs commands on the host and
// forwards to the host's loopback: the streaming protocol is what is tested.
type hostRuntime struct{}

func (hostRuntime) Exec(ctx context.Context, _ string, cmd []string, s Streams) (int, error) {
	c := exec.CommandContext(ctx, cmd[0], cmd[1:]...)
	c.Stdin, c.Stdout, c.Stderr = s.Stdin, s.Stdout, s.Stderr
	var err error
	if s.TTY {
		err = runOnPTY(c, s)
	} else {
		err = c.Run()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	return 0, err
}

// Attach "attaches" to a process that prints what it reads, upper-cased.
func (hostRuntime) Attach(ctx context.Context, _ string, s Streams) error {
	c := exec.CommandContext(ctx, "tr", "a-z", "A-Z")
	c.Stdin, c.Stdout = s.Stdin, s.Stdout
	return c.Run()
}

func (hostRuntime) PortForward(ctx context.Context, _ string, port int32, stream io.ReadWriteCloser) error {
	conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	go func() {
		_, _ = io.Copy(conn, stream)
		_ = conn.(*net.TCPConn).CloseWrite() // the client is done sending
	}()
	_, err = io.Copy(stream, conn)
	return err
}

func startServer(t *testing.T) *Server {
	t.Helper()
	s, err := New(Config{Runtime: hostRuntime{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	})
	return s
}

func TestExec(t *testing.T) {
	s := startServer(t)
	for _, tc := range []struct {
		name     string
		cmd      []string
		stdin    string
		wantOut  string
		wantErr  string
		wantCode int
	}{
		{name: "stdout", cmd: []string{"echo", "hi"}, wantOut: "hi\n"},
		{name: "stdin to stdout", cmd: []string{"cat"}, stdin: "piped", wantOut: "piped"},
		{name: "stderr and exit code", cmd: []string{"sh", "-c", "echo bad >&2; exit 3"}, wantErr: "bad\n", wantCode: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: "c", Cmd: tc.cmd, Stdin: tc.stdin != "", Stdout: true, Stderr: true})
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(resp.Url)
			ex, err := remotecommand.NewSPDYExecutor(&restclient.Config{}, "POST", u)
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			opts := remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr}
			if tc.stdin != "" {
				opts.Stdin = strings.NewReader(tc.stdin)
			}
			err = ex.StreamWithContext(context.Background(), opts)
			code := 0
			var ce utilexec.CodeExitError
			if errors.As(err, &ce) {
				code, err = ce.Code, nil
			}
			if err != nil || code != tc.wantCode || stdout.String() != tc.wantOut || stderr.String() != tc.wantErr {
				t.Errorf("exec = out %q err %q code %d, %v", stdout.String(), stderr.String(), code, err)
			}
			// The URL is single use.
			again, err := http.Post(resp.Url, "", nil)
			if err != nil || again.StatusCode != http.StatusNotFound {
				t.Errorf("second use of the URL: %v, %v", again, err)
			}
			if again != nil {
				again.Body.Close()
			}
			http.DefaultClient.CloseIdleConnections()
		})
	}
}

func TestGetExecValidates(t *testing.T) {
	s := startServer(t)
	for name, req := range map[string]*runtimeapi.ExecRequest{
		"no streams":      {ContainerId: "c", Cmd: []string{"true"}},
		"tty with stderr": {ContainerId: "c", Cmd: []string{"sh"}, Tty: true, Stdout: true, Stderr: true},
		"no command":      {ContainerId: "c", Stdout: true},
	} {
		if _, err := s.GetExec(req); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPortForward(t *testing.T) {
	s := startServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }() // echo
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)

	resp, err := s.GetPortForward(&runtimeapi.PortForwardRequest{PodSandboxId: "sb"})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(resp.Url)
	rt, upgrader, err := spdy.RoundTripperFor(&restclient.Config{})
	if err != nil {
		t.Fatal(err)
	}
	conn, _, err := spdy.NewDialer(upgrader, &http.Client{Transport: rt}, "POST", u).Dial(portforward.PortForwardV1Name)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i, p := range []string{port, port} { // two connections over one session
		h := http.Header{}
		h.Set(corev1.PortHeader, p)
		h.Set(corev1.PortForwardRequestIDHeader, strconv.Itoa(i))
		h.Set(corev1.StreamType, corev1.StreamTypeError)
		errStream, err := conn.CreateStream(h)
		if err != nil {
			t.Fatal(err)
		}
		h.Set(corev1.StreamType, corev1.StreamTypeData)
		data, err := conn.CreateStream(h)
		if err != nil {
			t.Fatal(err)
		}
		msg := "ping-" + strconv.Itoa(i)
		if _, err := io.WriteString(data, msg); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		_ = errStream.Close()
		done := make(chan error, 1)
		go func() { _, err := io.ReadFull(data, buf); done <- err }()
		select {
		case err := <-done:
			if err != nil || string(buf) != msg {
				t.Errorf("echo through forward = %q, %v", buf, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no echo through the forward")
		}
		_ = data.Close()
	}
}

func TestAttach(t *testing.T) {
	s := startServer(t)
	if _, err := s.GetAttach(&runtimeapi.AttachRequest{ContainerId: "c", Stdout: true, Stderr: true, Tty: true}); err == nil {
		t.Error("tty attach with stderr accepted")
	}
	resp, err := s.GetAttach(&runtimeapi.AttachRequest{ContainerId: "c", Stdin: true, Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(resp.Url)
	ex, err := remotecommand.NewSPDYExecutor(&restclient.Config{}, "POST", u)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = ex.StreamWithContext(context.Background(), remotecommand.StreamOptions{Stdin: strings.NewReader("hello"), Stdout: &out})
	if err != nil || out.String() != "HELLO" {
		t.Errorf("attach = %q, %v", out.String(), err)
	}
}
