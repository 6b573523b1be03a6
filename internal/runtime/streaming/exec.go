package streaming

import (
	"context"
	"encoding/json"
	"fmt"
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

// execProtocols are the remotecommand versions served, preferred first.
var execProtocols = []string{remotecommand.StreamProtocolV4Name, remotecommand.StreamProtocolV3Name, remotecommand.StreamProtocolV2Name}

// streamWait bounds how long the client may take to open its streams.
const streamWait = 30 * time.Second

type execStreams struct {
	errorStream, stdin, stdout, stderr, resize httpstream.Stream
}

// serveExec serves exec and attach URLs; both speak remotecommand.
func (s *Server) serveExec(w http.ResponseWriter, r *http.Request) {
	v, _ := s.take(r.PathValue("token"))
	req := asExec(v)
	if req == nil {
		http.Error(w, "unknown or expired URL", http.StatusNotFound)
		return
	}
	_, attach := v.(*runtimeapi.AttachRequest)
	proto, err := httpstream.Handshake(r, w, execProtocols)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	incoming := make(chan httpstream.Stream, 8)
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, func(st httpstream.Stream, _ <-chan struct{}) error {
		incoming <- st
		return nil
	})
	if conn == nil {
		return // the upgrader answered the error
	}
	defer conn.Close()
	conn.SetIdleTimeout(4 * time.Hour)
	st, err := collectExecStreams(incoming, req, proto)
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
	var code int
	if attach {
		err = s.cfg.Runtime.Attach(ctx, req.GetContainerId(), st.streams(req.GetTty()))
	} else {
		code, err = s.cfg.Runtime.Exec(ctx, req.GetContainerId(), req.GetCmd(), st.streams(req.GetTty()))
	}
	for _, out := range []httpstream.Stream{st.stdout, st.stderr} {
		if out != nil {
			_ = out.Close()
		}
	}
	writeStatus(st.errorStream, proto, code, err)
	_ = st.errorStream.Close()
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
		ch := make(chan TermSize, 4)
		go decodeResizes(st.resize, ch)
		out.Resize = ch
	}
	return out
}

// decodeResizes reads the client's JSON terminal sizes until it closes the stream.
func decodeResizes(s httpstream.Stream, ch chan<- TermSize) {
	defer close(ch)
	dec := json.NewDecoder(s)
	for {
		var size struct{ Width, Height uint16 } // the client's JSON resize message
		if err := dec.Decode(&size); err != nil {
			return
		}
		ch <- TermSize{Width: size.Width, Height: size.Height}
	}
}

// writeStatus reports the outcome on the error stream: a metav1.Status
// for v4, plain text for older protocols (nothing on success).
func writeStatus(s httpstream.Stream, proto string, code int, err error) {
	if proto != remotecommand.StreamProtocolV4Name {
		switch {
		case err != nil:
			fmt.Fprint(s, err.Error())
		case code != 0:
			fmt.Fprintf(s, "command terminated with non-zero exit code: %d", code)
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
	_ = json.NewEncoder(s).Encode(st)
}
