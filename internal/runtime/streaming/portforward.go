package streaming

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/portforward"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"
)

// servePortForward accepts (error, data) stream pairs, one pair per
// forwarded connection, until the client hangs up.
func (s *Server) servePortForward(w http.ResponseWriter, r *http.Request) {
	v, ok := s.take(r.PathValue("token"))
	req, isPF := v.(*runtimeapi.PortForwardRequest)
	if !ok || !isPF {
		http.Error(w, "unknown or expired port-forward URL", http.StatusNotFound)
		return
	}
	if _, err := httpstream.Handshake(r, w, []string{portforward.PortForwardV1Name}); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	incoming := make(chan httpstream.Stream, 8)
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, func(st httpstream.Stream, _ <-chan struct{}) error {
		incoming <- st
		return nil
	})
	if conn == nil {
		return
	}
	defer conn.Close()
	conn.SetIdleTimeout(4 * time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
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
				go s.forward(ctx, req.GetPodSandboxId(), p)
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
