package streaming

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/portforward"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"
)

// servePortForward serves portforward.k8s.io: over SPDY, or over SPDY
// tunnelled in a WebSocket when the request upgrades to WebSocket.
func (s *Server) servePortForward(w http.ResponseWriter, r *http.Request) {
	v, ok := s.take(r.PathValue("token"))
	req, isPF := v.(*runtimeapi.PortForwardRequest)
	if !ok || !isPF {
		http.Error(w, "unknown or expired port-forward URL", http.StatusNotFound)
		return
	}
	if isWebSocket(r) {
		s.servePortForwardTunnel(w, r, req)
		return
	}
	if _, err := httpstream.Handshake(r, w, []string{portforward.PortForwardV1Name}); err != nil {
		return // Handshake has answered the client
	}
	q := newStreamQueue()
	defer q.stop()
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, q.accept)
	if conn == nil {
		return // the upgrader answered the error
	}
	s.forwardStreams(conn, q.streams, req.GetPodSandboxId())
}

// forwardStreams pairs the client's (error, data) streams, one pair per
// forwarded connection, and forwards each pair until the client hangs up.
// Forwards still running when the session ends are cancelled and waited for.
func (s *Server) forwardStreams(conn httpstream.Connection, incoming <-chan httpstream.Stream, sandboxID string) {
	defer s.sessions.hold(conn)()
	conn.SetIdleTimeout(idleTimeout)
	ctx, cancel := context.WithCancel(context.Background())
	var forwards sync.WaitGroup
	defer func() {
		cancel()
		_ = conn.Close() // resets the streams of forwards that ignore ctx
		forwards.Wait()
	}()
	pairs := map[string]*streamPair{}
	for {
		select {
		case <-conn.CloseChan():
			return
		case st := <-incoming:
			id := st.Headers().Get(corev1.PortForwardRequestIDHeader)
			p := pairs[id]
			if p == nil {
				p = &streamPair{}
				pairs[id] = p
			}
			p.add(st)
			if p.complete() {
				delete(pairs, id)
				forwards.Go(func() { s.forward(ctx, sandboxID, p) })
			}
		}
	}
}

type streamPair struct{ errorStream, data httpstream.Stream }

func (p *streamPair) add(st httpstream.Stream) {
	if st.Headers().Get(corev1.StreamType) == corev1.StreamTypeError {
		p.errorStream = st
	} else {
		p.data = st
	}
}

func (p *streamPair) complete() bool { return p.errorStream != nil && p.data != nil }

func (s *Server) forward(ctx context.Context, sandboxID string, p *streamPair) {
	defer p.errorStream.Close()
	defer p.data.Close()
	port, err := strconv.ParseInt(p.data.Headers().Get(corev1.PortHeader), 10, 32)
	if err == nil && (port <= 0 || port > 65535) {
		err = fmt.Errorf("port %d out of range", port)
	}
	if err == nil {
		err = s.cfg.Runtime.PortForward(ctx, sandboxID, int32(port), p.data)
	}
	if err != nil {
		fmt.Fprintf(p.errorStream, "forwarding port %d of sandbox %s: %v", port, sandboxID, err)
	}
}
