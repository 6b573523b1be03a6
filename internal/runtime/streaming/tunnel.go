package streaming

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"k8s.io/apimachinery/pkg/util/portforward"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/streaming/pkg/httpstream/spdy"
)

// servePortForwardTunnel serves port-forward the way kubectl 1.31+ asks for
// it first: a WebSocket with subprotocol "SPDY/3.1+portforward.k8s.io"
// whose binary messages carry a SPDY/3.1 session, the same one a SPDY
// upgrade would start. The WebSocket becomes the SPDY session's net.Conn.
func (s *Server) servePortForwardTunnel(w http.ResponseWriter, r *http.Request, req *runtimeapi.PortForwardRequest) {
	ws, err := upgradeWebSocket(w, r, []string{portforward.WebsocketsSPDYTunnelingPortForwardV1}, false)
	if err != nil {
		s.log.Debug("port-forward websocket upgrade", "err", err)
		return
	}
	q := newStreamQueue()
	defer q.stop()
	conn, err := spdy.NewServerConnection(newWSNetConn(ws), q.accept)
	if err != nil { // NewServerConnection has closed the tunnel
		s.log.Warn("port-forward tunnel", "err", err)
		return
	}
	s.forwardStreams(conn, q.streams, req.GetPodSandboxId())
}

// wsNetConn is a net.Conn whose bytes travel in binary WebSocket messages:
// a write is one message, reads run across message boundaries.
type wsNetConn struct {
	ws *websocket.Conn

	rmu sync.Mutex
	msg io.Reader // the message being read; nil between messages

	wmu       sync.Mutex
	closeOnce sync.Once
	closeErr  error
}

var _ net.Conn = (*wsNetConn)(nil)

func newWSNetConn(ws *websocket.Conn) *wsNetConn { return &wsNetConn{ws: ws} }

func (c *wsNetConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		if c.msg == nil {
			typ, r, err := c.ws.NextReader()
			if err != nil {
				return 0, peerClosed(err)
			}
			if typ != websocket.BinaryMessage {
				return 0, errors.New("websocket tunnel: text message in a binary stream")
			}
			c.msg = r
		}
		n, err := c.msg.Read(p)
		if errors.Is(err, io.EOF) {
			c.msg = nil
			err = nil
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
}

// peerClosed maps the client's normal close to io.EOF.
func peerClosed(err error) error {
	if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
		return io.EOF
	}
	return err
}

func (c *wsNetConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close tells the client the tunnel ends normally, then closes the socket.
func (c *wsNetConn) Close() error {
	c.closeOnce.Do(func() {
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		c.closeErr = c.ws.Close()
	})
	return c.closeErr
}

func (c *wsNetConn) LocalAddr() net.Addr                { return c.ws.LocalAddr() }
func (c *wsNetConn) RemoteAddr() net.Addr               { return c.ws.RemoteAddr() }
func (c *wsNetConn) SetReadDeadline(t time.Time) error  { return c.ws.SetReadDeadline(t) }
func (c *wsNetConn) SetWriteDeadline(t time.Time) error { return c.ws.SetWriteDeadline(t) }

func (c *wsNetConn) SetDeadline(t time.Time) error {
	return errors.Join(c.ws.SetReadDeadline(t), c.ws.SetWriteDeadline(t))
}
