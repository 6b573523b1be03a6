package streaming

import (
	"context"
	"net/http"

	"k8s.io/apimachinery/pkg/util/remotecommand"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// serveExecWebSocket runs an exec or attach over a WebSocket channel
// protocol. Unlike SPDY the client opens no streams: the request says which
// channels exist. The outcome goes on the error channel, then the server
// closes the WebSocket normally, which ends the client's output streams.
func (s *Server) serveExecWebSocket(w http.ResponseWriter, r *http.Request, req *runtimeapi.ExecRequest, attach bool) {
	ws, err := upgradeWebSocket(w, r, wsExecProtocols(), true)
	if err != nil {
		s.log.Debug("exec websocket upgrade", "err", err)
		return
	}
	defer s.sessions.hold(goingAway{ws})()
	proto := channelProtocolFor(ws.Subprotocol())
	c := newChannelConn(ws, proto, s.log)
	streams := wsExecStreams(c, req)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.start(cancel) // a client that goes away ends the process's session
	announce(c, req)
	code, err := s.run(ctx, req, attach, streams)
	c.stopInputs()
	writeStatus(c.output(remotecommand.StreamErr), proto.status, code, err)
	c.finish()
}

// wsExecStreams registers the channels the request implies.
func wsExecStreams(c *channelConn, req *runtimeapi.ExecRequest) Streams {
	st := Streams{TTY: req.GetTty()}
	if req.GetStdin() {
		st.Stdin = c.input(remotecommand.StreamStdIn)
	}
	if req.GetStdout() {
		st.Stdout = c.output(remotecommand.StreamStdOut)
	}
	if req.GetStderr() && !req.GetTty() {
		st.Stderr = c.output(remotecommand.StreamStdErr)
	}
	if req.GetTty() {
		st.Resize = resizes(c.input(remotecommand.StreamResize))
	}
	return st
}

// announce sends an empty message on the lowest channel the server writes,
// which tells simple clients (browsers) that the session is established.
func announce(c *channelConn, req *runtimeapi.ExecRequest) {
	ch := byte(remotecommand.StreamErr)
	switch {
	case req.GetStdout():
		ch = remotecommand.StreamStdOut
	case req.GetStderr() && !req.GetTty():
		ch = remotecommand.StreamStdErr
	}
	_ = c.write(ch, nil)
}
