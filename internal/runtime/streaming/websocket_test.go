package streaming

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiremotecommand "k8s.io/apimachinery/pkg/util/remotecommand"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/streaming/pkg/httpstream"
)

// streamResult is what a user of an exec sees.
type streamResult struct {
	stdout, stderr string
	code           int
	err            error
}

// stream runs ex to its end, translating the exit-code error into a code.
func stream(t *testing.T, ex remotecommand.Executor, opts remotecommand.StreamOptions) streamResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	opts.Stdout = &stdout
	if !opts.Tty {
		opts.Stderr = &stderr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := ex.StreamWithContext(ctx, opts)
	res := streamResult{}
	var ce utilexec.CodeExitError
	if errors.As(err, &ce) {
		res.code, err = ce.Code, nil
	}
	res.stdout, res.stderr, res.err = stdout.String(), stderr.String(), err
	return res
}

func TestWebSocketExec(t *testing.T) {
	s := startServer(t)
	for _, tc := range []struct {
		name     string
		protocol string
		cmd      []string
		stdin    string
		want     streamResult
	}{
		{name: "v5 stdout", protocol: channelV5, cmd: []string{"echo", "hi"}, want: streamResult{stdout: "hi\n"}},
		{name: "v5 stdin EOF ends cat", protocol: channelV5, cmd: []string{"cat"}, stdin: "piped through", want: streamResult{stdout: "piped through"}},
		{name: "v5 stdin then exit code", protocol: channelV5, cmd: []string{"sh", "-c", "read l; echo got $l; echo bad >&2; exit 3"},
			stdin: "line\n", want: streamResult{stdout: "got line\n", stderr: "bad\n", code: 3}},
		{name: "v5 large output", protocol: channelV5, cmd: []string{"sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x"},
			want: streamResult{stdout: strings.Repeat("x", 300000)}},
		{name: "v4 stdout and stderr", protocol: channelV4, cmd: []string{"sh", "-c", "echo out; echo err >&2"}, want: streamResult{stdout: "out\n", stderr: "err\n"}},
		{name: "v4 exit code", protocol: channelV4, cmd: []string{"sh", "-c", "exit 7"}, want: streamResult{code: 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: "c", Cmd: tc.cmd, Stdin: tc.stdin != "", Stdout: true, Stderr: true})
			if err != nil {
				t.Fatal(err)
			}
			ex, err := remotecommand.NewWebSocketExecutorForProtocols(&restclient.Config{}, "GET", resp.Url, tc.protocol)
			if err != nil {
				t.Fatal(err)
			}
			opts := remotecommand.StreamOptions{}
			if tc.stdin != "" {
				opts.Stdin = strings.NewReader(tc.stdin)
			}
			if got := stream(t, ex, opts); got != tc.want {
				t.Errorf("exec = %+v, want %+v", abbreviate(got), abbreviate(tc.want))
			}
		})
	}
}

// abbreviate keeps failure messages about large outputs readable.
func abbreviate(r streamResult) streamResult {
	if len(r.stdout) > 100 {
		r.stdout = r.stdout[:40] + "...(" + strconv.Itoa(len(r.stdout)) + " bytes)"
	}
	return r
}

// sizeQueue hands the client's terminal sizes to the executor, then ends.
type sizeQueue struct {
	sizes chan remotecommand.TerminalSize
}

func (q sizeQueue) Next() *remotecommand.TerminalSize {
	size, ok := <-q.sizes
	if !ok {
		return nil
	}
	return &size
}

func TestWebSocketExecTTYResize(t *testing.T) {
	s := startServer(t)
	// The shell waits until its terminal has the second size, then reports it.
	script := `i=0; while [ "$(stty size)" != "40 120" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; stty size; tty >/dev/null && echo is-a-tty`
	resp, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: "c", Cmd: []string{"sh", "-c", script}, Stdout: true, Tty: true})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := remotecommand.NewWebSocketExecutor(&restclient.Config{}, "GET", resp.Url)
	if err != nil {
		t.Fatal(err)
	}
	q := sizeQueue{sizes: make(chan remotecommand.TerminalSize, 2)}
	q.sizes <- remotecommand.TerminalSize{Width: 100, Height: 30}
	q.sizes <- remotecommand.TerminalSize{Width: 120, Height: 40}
	close(q.sizes)
	got := stream(t, ex, remotecommand.StreamOptions{Tty: true, TerminalSizeQueue: q})
	if got.err != nil || got.code != 0 || !strings.Contains(got.stdout, "40 120") || !strings.Contains(got.stdout, "is-a-tty") {
		t.Errorf("tty exec = %+v, want the resized terminal's size 40 120 on a tty", got)
	}
}

func TestWebSocketAttach(t *testing.T) {
	s := startServer(t)
	resp, err := s.GetAttach(&runtimeapi.AttachRequest{ContainerId: "c", Stdin: true, Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := remotecommand.NewWebSocketExecutor(&restclient.Config{}, "GET", resp.Url)
	if err != nil {
		t.Fatal(err)
	}
	got := stream(t, ex, remotecommand.StreamOptions{Stdin: strings.NewReader("hello")})
	if want := (streamResult{stdout: "HELLO"}); got != want {
		t.Errorf("attach = %+v, want %+v", got, want)
	}
}

// TestWebSocketUnknownProtocol: a client offering only protocols the server
// lacks gets an upgrade failure, the error on which kubectl's fallback
// executor retries with SPDY.
func TestWebSocketUnknownProtocol(t *testing.T) {
	s := startServer(t)
	resp, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: "c", Cmd: []string{"echo", "hi"}, Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := remotecommand.NewWebSocketExecutorForProtocols(&restclient.Config{}, "GET", resp.Url, "v9.channel.k8s.io")
	if err != nil {
		t.Fatal(err)
	}
	if got := stream(t, ex, remotecommand.StreamOptions{}); !httpstream.IsUpgradeFailure(got.err) {
		t.Errorf("unknown subprotocol: err = %v, want an upgrade failure", got.err)
	}
}

// wsMessage is one message a raw WebSocket client received.
type wsMessage struct {
	channel byte
	data    string
}

// rawChannelSession runs an exec with a plain WebSocket client speaking
// protocol, sending stdin messages as is, and returns what arrived.
func rawChannelSession(t *testing.T, s *Server, protocol string, cmd []string, stdin [][]byte) []wsMessage {
	t.Helper()
	resp, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: "c", Cmd: cmd, Stdin: stdin != nil, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	if protocol != "" { // "": a client that names no subprotocol
		d.Subprotocols = []string{protocol}
	}
	conn, _, err := d.Dial(strings.Replace(resp.Url, "http://", "ws://", 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if conn.Subprotocol() != protocol {
		t.Fatalf("negotiated %q, want %q", conn.Subprotocol(), protocol)
	}
	for _, m := range stdin {
		if err := conn.WriteMessage(websocket.BinaryMessage, m); err != nil {
			t.Fatal(err)
		}
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got []wsMessage
	for {
		typ, data, err := conn.ReadMessage()
		if websocket.IsCloseError(err, websocket.CloseNormalClosure) {
			return got
		}
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got = append(got, decodeRaw(t, protocol, typ, data))
	}
}

func decodeRaw(t *testing.T, protocol string, typ int, data []byte) wsMessage {
	t.Helper()
	if !strings.Contains(protocol, "base64") {
		if typ != websocket.BinaryMessage || len(data) == 0 {
			t.Fatalf("message type %d %q on a binary protocol", typ, data)
		}
		return wsMessage{channel: data[0], data: string(data[1:])}
	}
	if typ != websocket.TextMessage || len(data) == 0 {
		t.Fatalf("message type %d %q on a base64 protocol", typ, data)
	}
	b, err := base64.StdEncoding.DecodeString(string(data[1:]))
	if err != nil {
		t.Fatalf("message %q: %v", data, err)
	}
	return wsMessage{channel: data[0] - '0', data: string(b)}
}

// channelData concatenates what arrived on one channel.
func channelData(msgs []wsMessage, ch byte) string {
	var b strings.Builder
	for _, m := range msgs {
		if m.channel == ch {
			b.WriteString(m.data)
		}
	}
	return b.String()
}

func TestWebSocketRawProtocols(t *testing.T) {
	s := startServer(t)
	exitStatus, _ := json.Marshal(metav1.Status{Status: metav1.StatusFailure, Reason: "NonZeroExitCode",
		Message: "command terminated with non-zero exit code: 4",
		Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: "ExitCode", Message: "4"}}}})
	cmd := []string{"sh", "-c", "echo out; echo err >&2; exit 4"}
	for _, tc := range []struct {
		protocol  string
		wantError string
	}{
		{protocol: channelV4Base64, wantError: string(exitStatus) + "\n"},
		{protocol: channelV1, wantError: "command terminated with non-zero exit code: 4"},
		{protocol: channelV1Base64, wantError: "command terminated with non-zero exit code: 4"},
		{protocol: "", wantError: "command terminated with non-zero exit code: 4"}, // as channel.k8s.io
	} {
		t.Run(cmp.Or(tc.protocol, "no subprotocol"), func(t *testing.T) {
			msgs := rawChannelSession(t, s, tc.protocol, cmd, nil)
			if len(msgs) == 0 || msgs[0] != (wsMessage{channel: 1}) {
				t.Errorf("first message %v, want an empty one on stdout", msgs)
			}
			out, errOut, status := channelData(msgs, 1), channelData(msgs, 2), channelData(msgs, 3)
			if out != "out\n" || errOut != "err\n" || status != tc.wantError {
				t.Errorf("stdout %q stderr %q error channel %q, want out, err and %q", out, errOut, status, tc.wantError)
			}
		})
	}

	t.Run("v5 close signal ends stdin", func(t *testing.T) {
		msgs := rawChannelSession(t, s, channelV5, []string{"cat"}, [][]byte{
			append([]byte{apiremotecommand.StreamStdIn}, "abc"...),
			{apiremotecommand.StreamClose, apiremotecommand.StreamStdIn},
		})
		if out, status := channelData(msgs, 1), channelData(msgs, 3); out != "abc" || !strings.Contains(status, `"status":"Success"`) {
			t.Errorf("stdout %q error channel %q, want abc and Success", out, status)
		}
	})
}

func TestWebSocketPortForward(t *testing.T) {
	s := startServer(t)
	echoPort := startEcho(t)
	resp, err := s.GetPortForward(&runtimeapi.PortForwardRequest{PodSandboxId: "sb"})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(resp.Url)
	local := forwardOverWebSocket(t, u, &restclient.Config{}, echoPort)
	for i := range 3 { // several connections over the one tunnel
		if err := echoThrough(local, "ping-"+strconv.Itoa(i)+strings.Repeat("x", 50000)); err != nil {
			t.Errorf("connection %d: %v", i, err)
		}
	}
}

// forwardOverWebSocket runs client-go's port forwarder, as kubectl 1.31+
// does, from a local port to remotePort through the WebSocket tunnel at u;
// it returns the local address.
func forwardOverWebSocket(t *testing.T, u *url.URL, cfg *restclient.Config, remotePort string) string {
	t.Helper()
	dialer, err := portforward.NewSPDYOverWebsocketDialer(u, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	fw, err := portforward.NewOnAddressesWithContext(ctx, dialer, []string{"127.0.0.1"}, []string{"0:" + remotePort}, ready, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- fw.ForwardPorts() }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ForwardPorts: %v", err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		done <- err
		t.Fatalf("port forward ended before it was ready: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("port forward not ready")
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) != 1 {
		t.Fatalf("ports %v, %v", ports, err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(int(ports[0].Local)))
}

// TestWebSocketPortForwardRefusesOtherProtocols: only the SPDY tunnel is
// served over WebSocket; anything else is an upgrade failure (kubectl then
// falls back to plain SPDY).
func TestWebSocketPortForwardRefusesOtherProtocols(t *testing.T) {
	s := startServer(t)
	resp, err := s.GetPortForward(&runtimeapi.PortForwardRequest{PodSandboxId: "sb"})
	if err != nil {
		t.Fatal(err)
	}
	d := websocket.Dialer{Subprotocols: []string{"v4.channel.k8s.io"}, HandshakeTimeout: 5 * time.Second}
	conn, res, err := d.Dial(strings.Replace(resp.Url, "http://", "ws://", 1), nil)
	if err == nil {
		conn.Close()
	}
	if !errors.Is(err, websocket.ErrBadHandshake) || res == nil || res.StatusCode != http.StatusBadRequest {
		t.Errorf("dial = %v, %v; want a bad handshake with 400", res, err)
	}
}

// startEcho serves a TCP echo on loopback and returns its port.
func startEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// echoThrough sends msg to addr and expects it back.
func echoThrough(addr, msg string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() { _, _ = io.WriteString(c, msg) }()
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != msg {
		return errors.New("echo differs from what was sent")
	}
	return nil
}

// TestStopEndsSessions: stopping the server ends the exec sessions in
// progress (their processes are cancelled) and Start returns after them.
func TestStopEndsSessions(t *testing.T) {
	s, err := New(Config{Runtime: hostRuntime{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan error, 1)
	go func() { started <- s.Start(ctx) }()

	newExecutor := map[string]func(string) (remotecommand.Executor, error){
		"websocket": func(u string) (remotecommand.Executor, error) {
			return remotecommand.NewWebSocketExecutor(&restclient.Config{}, "GET", u)
		},
		"spdy": func(u string) (remotecommand.Executor, error) {
			parsed, _ := url.Parse(u)
			return remotecommand.NewSPDYExecutor(&restclient.Config{}, "POST", parsed)
		},
	}
	ended := make(chan error, len(newExecutor))
	for _, newEx := range newExecutor {
		resp, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: "c", Cmd: []string{"sh", "-c", "echo up; exec sleep 60"}, Stdout: true})
		if err != nil {
			t.Fatal(err)
		}
		ex, err := newEx(resp.Url)
		if err != nil {
			t.Fatal(err)
		}
		up := make(chan struct{})
		go func() {
			ended <- ex.StreamWithContext(context.Background(), remotecommand.StreamOptions{Stdout: &signalWriter{up: up}})
		}()
		select {
		case <-up:
		case <-time.After(10 * time.Second):
			t.Fatal("exec did not start")
		}
	}
	cancel()
	select {
	case err := <-started:
		if err != nil {
			t.Errorf("Start: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Start did not return with sessions in progress")
	}
	for range newExecutor {
		select {
		case <-ended:
		case <-time.After(10 * time.Second):
			t.Fatal("a client's exec did not end with the server")
		}
	}
}

// signalWriter closes up on the first output.
type signalWriter struct {
	up   chan struct{}
	once sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.up) })
	return len(p), nil
}
