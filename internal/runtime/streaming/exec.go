package streaming

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/remotecommand"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"
)

// spdyExecProtocols are the remotecommand versions served over SPDY,
// preferred first.
func spdyExecProtocols() []string {
	return []string{remotecommand.StreamProtocolV4Name, remotecommand.StreamProtocolV3Name, remotecommand.StreamProtocolV2Name}
}

// streamWait bounds how long the client may take to open its streams.
const streamWait = 30 * time.Second

// idleTimeout ends a streaming session that has seen no traffic (the
// clients' pings count) for this long.
const idleTimeout = 4 * time.Hour

type execStreams struct {
	errorStream, stdin, stdout, stderr, resize httpstream.Stream
}

// serveExec serves exec and attach URLs; both speak remotecommand, over
// SPDY or over WebSocket as the request's Upgrade header asks.
func (s *Server) serveExec(w http.ResponseWriter, r *http.Request) {
	v, _ := s.take(r.PathValue("token"))
	req := asExec(v)
	if req == nil {
		http.Error(w, "unknown or expired URL", http.StatusNotFound)
		return
	}
	_, attach := v.(*runtimeapi.AttachRequest)
	if isWebSocket(r) {
		s.serveExecWebSocket(w, r, req, attach)
	} else {
		s.serveExecSPDY(w, r, req, attach)
	}
}

// serveExecSPDY runs an exec or attach over SPDY: the client opens one
// stream per stdio stream, resize and error; the outcome goes on the error
// stream.
func (s *Server) serveExecSPDY(w http.ResponseWriter, r *http.Request, req *runtimeapi.ExecRequest, attach bool) {
	proto, err := httpstream.Handshake(r, w, spdyExecProtocols())
	if err != nil {
		return // Handshake has answered the client
	}
	q := newStreamQueue()
	defer q.stop()
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, q.accept)
	if conn == nil {
		return // the upgrader answered the error
	}
	defer conn.Close()
	defer s.sessions.hold(conn)()
	conn.SetIdleTimeout(idleTimeout)
	st, err := collectExecStreams(q.streams, req, proto)
	if err != nil {
		s.log.Warn("exec streams", "err", err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-conn.CloseChan():
			cancel()
		case <-ctx.Done():
		}
	}()
	code, err := s.run(ctx, req, attach, st.streams(req.GetTty()))
	for _, out := range []httpstream.Stream{st.stdout, st.stderr} {
		if out != nil {
			_ = out.Close()
		}
	}
	writeStatus(st.errorStream, proto == remotecommand.StreamProtocolV4Name, code, err)
	_ = st.errorStream.Close()
}

// run runs an exec, or an attach (which has no exit code), to its end.
func (s *Server) run(ctx context.Context, req *runtimeapi.ExecRequest, attach bool, st Streams) (int, error) {
	if attach {
		return 0, s.cfg.Runtime.Attach(ctx, req.GetContainerId(), st)
	}
	return s.cfg.Runtime.Exec(ctx, req.GetContainerId(), req.GetCmd(), st)
}

// asExec views an attach request as an exec request without a command.
func asExec(v any) *runtimeapi.ExecRequest {
	switch r := v.(type) {
	case *runtimeapi.ExecRequest:
		return r
	case *runtimeapi.AttachRequest:
		return &runtimeapi.ExecRequest{ContainerId: r.GetContainerId(), Stdin: r.GetStdin(),
			Stdout: r.GetStdout(), Stderr: r.GetStderr(), Tty: r.GetTty()}
	}
	return nil
}

// collectExecStreams waits for the streams the request implies.
func collectExecStreams(incoming <-chan httpstream.Stream, req *runtimeapi.ExecRequest, proto string) (*execStreams, error) {
	want := 1 // error
	for _, b := range []bool{req.GetStdin(), req.GetStdout(), req.GetStderr() && !req.GetTty(),
		req.GetTty() && proto != remotecommand.StreamProtocolV2Name} {
		if b {
			want++
		}
	}
	st := &execStreams{}
	timeout := time.After(streamWait)
	for got := 0; got < want; got++ {
		select {
		case s := <-incoming:
			if err := st.add(s); err != nil {
				return nil, err
			}
		case <-timeout:
			return nil, fmt.Errorf("timed out waiting for %d client streams", want)
		}
	}
	if st.errorStream == nil {
		return nil, fmt.Errorf("client opened no error stream")
	}
	return st, nil
}

func (st *execStreams) add(s httpstream.Stream) error {
	switch t := s.Headers().Get(corev1.StreamType); t {
	case corev1.StreamTypeError:
		st.errorStream = s
	case corev1.StreamTypeStdin:
		st.stdin = s
	case corev1.StreamTypeStdout:
		st.stdout = s
	case corev1.StreamTypeStderr:
		st.stderr = s
	case corev1.StreamTypeResize:
		st.resize = s
	default:
		return fmt.Errorf("unexpected stream type %q", t)
	}
	return nil
}

func (st *execStreams) streams(tty bool) Streams {
	out := Streams{TTY: tty}
	if st.stdin != nil {
		out.Stdin = st.stdin
	}
	if st.stdout != nil {
		out.Stdout = st.stdout
	}
	if st.stderr != nil {
		out.Stderr = st.stderr
	}
	if st.resize != nil {
		out.Resize = resizes(st.resize)
	}
	return out
}

// resizes decodes the client's JSON terminal sizes ({"Width":..,"Height":..})
// until r ends. It never blocks the connection on a slow consumer: when the
// buffer is full the oldest pending size is dropped, the newest kept.
func resizes(r io.Reader) <-chan TermSize {
	ch := make(chan TermSize, 4)
	go func() {
		defer close(ch)
		dec := json.NewDecoder(r)
		for {
			var size TermSize
			if err := dec.Decode(&size); err != nil {
				return
			}
			select {
			case ch <- size:
			default:
				select {
				case <-ch:
				default:
				}
				ch <- size // only this goroutine sends, and there is room now
			}
		}
	}()
	return ch
}

// writeStatus reports the outcome on the error stream: a metav1.Status
// (v4 and later), or plain text for older protocols (nothing on success).
func writeStatus(w io.Writer, asStatus bool, code int, err error) {
	if !asStatus {
		switch {
		case err != nil:
			fmt.Fprint(w, err.Error())
		case code != 0:
			fmt.Fprintf(w, "command terminated with non-zero exit code: %d", code)
		}
		return
	}
	st := metav1.Status{Status: metav1.StatusSuccess}
	switch {
	case err != nil:
		st = metav1.Status{Status: metav1.StatusFailure, Message: err.Error()}
	case code != 0:
		st = metav1.Status{Status: metav1.StatusFailure, Reason: "NonZeroExitCode",
			Message: fmt.Sprintf("command terminated with non-zero exit code: %d", code),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: "ExitCode", Message: strconv.Itoa(code)}}}}
	}
	_ = json.NewEncoder(w).Encode(st)
}
