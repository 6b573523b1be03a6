package streaming

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"k8s.io/apimachinery/pkg/util/remotecommand"
)

// The WebSocket "channel" protocols multiplex numbered byte streams over one
// WebSocket. Every message carries one channel's data behind a one-byte
// channel number (0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize). The
// base64 variants send text messages instead: the channel's digit ('0'+n)
// followed by the data in standard base64. v5 adds a half-close: the message
// {255, n} means the sender has finished writing channel n (stdin EOF).
const (
	channelV5       = remotecommand.StreamProtocolV5Name // "v5.channel.k8s.io"
	channelV4       = remotecommand.StreamProtocolV4Name // "v4.channel.k8s.io"
	channelV4Base64 = "v4.base64.channel.k8s.io"
	channelV1       = remotecommand.StreamProtocolV1Name // "channel.k8s.io"
	channelV1Base64 = "base64.channel.k8s.io"
)

// wsExecProtocols are the WebSocket subprotocols exec and attach accept.
// As everywhere in WebSocket, the client's order of preference wins.
func wsExecProtocols() []string {
	return []string{channelV5, channelV4, channelV4Base64, channelV1, channelV1Base64}
}

// channelProtocol is how one subprotocol frames and ends its channels.
type channelProtocol struct {
	base64      bool // text messages: channel digit, then base64 data
	closeSignal bool // {255, n} half-closes channel n (v5)
	status      bool // the error channel carries a v1 Status (v4+), else plain text
}

// channelProtocolFor describes a negotiated subprotocol; a client that asked
// for none speaks the original binary channel.k8s.io.
func channelProtocolFor(name string) channelProtocol {
	switch name {
	case channelV5:
		return channelProtocol{closeSignal: true, status: true}
	case channelV4:
		return channelProtocol{status: true}
	case channelV4Base64:
		return channelProtocol{base64: true, status: true}
	case channelV1Base64:
		return channelProtocol{base64: true}
	}
	return channelProtocol{}
}

// isWebSocket reports whether r asks to upgrade to WebSocket rather than SPDY.
func isWebSocket(r *http.Request) bool { return websocket.IsWebSocketUpgrade(r) }

// wsBufferSize sizes the WebSocket read and write buffers.
const wsBufferSize = 32 << 10

// upgradeWebSocket completes the WebSocket handshake, choosing the first
// subprotocol the client offers that supported lists. A client offering
// protocols of which none is supported gets 400 (so kubectl falls back to
// SPDY); a client offering none is accepted only if allowNone.
func upgradeWebSocket(w http.ResponseWriter, r *http.Request, supported []string, allowNone bool) (*websocket.Conn, error) {
	if offered := websocket.Subprotocols(r); !acceptable(offered, supported, allowNone) {
		err := fmt.Errorf("unable to upgrade: no supported WebSocket subprotocol in %v; the server accepts %v", offered, supported)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, err
	}
	u := websocket.Upgrader{
		Subprotocols:     supported,
		ReadBufferSize:   wsBufferSize,
		WriteBufferSize:  wsBufferSize,
		HandshakeTimeout: 10 * time.Second,
		// The single-use token in the URL is the credential; requests
		// arrive through proxies that rewrite Host, so Origin cannot be
		// compared with it.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return u.Upgrade(w, r, nil) // on failure Upgrade has answered the client
}

// acceptable reports whether the client offers a supported subprotocol, or
// offers none where that is allowed.
func acceptable(offered, supported []string, allowNone bool) bool {
	if len(offered) == 0 {
		return allowNone
	}
	for _, o := range offered {
		for _, s := range supported {
			if o == s {
				return true
			}
		}
	}
	return false
}

// closeWait bounds how long closing waits for the client to answer the
// close frame: closing a socket with unread input resets it, which can
// discard output the client has not read yet.
const closeWait = 5 * time.Second

// channelConn serves the channel protocol over one WebSocket. Register the
// channels with input and output, then start the read loop; finish ends
// the session.
type channelConn struct {
	ws    *websocket.Conn
	proto channelProtocol
	log   *slog.Logger

	wmu    sync.Mutex // one message writer at a time
	inputs map[byte]*channelInput
	done   chan struct{} // closed when the read loop has returned
}

// channelInput is a channel the client writes to (stdin, resize).
type channelInput struct {
	r *io.PipeReader
	w *io.PipeWriter
}

func newChannelConn(ws *websocket.Conn, proto channelProtocol, log *slog.Logger) *channelConn {
	return &channelConn{ws: ws, proto: proto, log: log, inputs: map[byte]*channelInput{}, done: make(chan struct{})}
}

// input returns the reader for data the client sends on channel ch; it ends
// (io.EOF) when the client half-closes the channel or goes away.
func (c *channelConn) input(ch byte) io.Reader {
	r, w := io.Pipe()
	c.inputs[ch] = &channelInput{r: r, w: w}
	return r
}

// output returns a writer that sends each write as one message on channel ch.
func (c *channelConn) output(ch byte) io.Writer { return channelWriter{c: c, ch: ch} }

type channelWriter struct {
	c  *channelConn
	ch byte
}

func (w channelWriter) Write(p []byte) (int, error) {
	if err := w.c.write(w.ch, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *channelConn) write(ch byte, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	typ, prefix := websocket.BinaryMessage, ch
	if c.proto.base64 {
		typ, prefix = websocket.TextMessage, '0'+ch
	}
	mw, err := c.ws.NextWriter(typ)
	if err != nil {
		return err
	}
	if _, err := mw.Write([]byte{prefix}); err != nil {
		return err
	}
	if c.proto.base64 {
		enc := base64.NewEncoder(base64.StdEncoding, mw)
		_, _ = enc.Write(p)
		err = enc.Close()
	} else {
		_, err = mw.Write(p)
	}
	if err != nil {
		return err
	}
	return mw.Close()
}

// start runs the read loop, which calls gone once the client has closed or
// lost the connection.
func (c *channelConn) start(gone func()) {
	c.ws.SetPingHandler(func(data string) error {
		_ = c.ws.SetReadDeadline(time.Now().Add(idleTimeout))
		_ = c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(closeWait))
		return nil
	})
	go func() {
		defer close(c.done)
		defer gone()
		defer c.endInputs()
		for {
			_ = c.ws.SetReadDeadline(time.Now().Add(idleTimeout))
			typ, r, err := c.ws.NextReader()
			if err != nil {
				return
			}
			if err := c.dispatch(typ, r); err != nil {
				c.log.Debug("websocket stream message dropped", "err", err)
			}
		}
	}()
}

// dispatch delivers one client message to its channel's reader.
func (c *channelConn) dispatch(typ int, r io.Reader) error {
	var head [1]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil // an empty message
	}
	if c.proto.closeSignal && head[0] == remotecommand.StreamClose {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return errors.New("close signal without a channel")
		}
		if in := c.inputs[head[0]]; in != nil {
			_ = in.w.Close()
		}
		return nil
	}
	ch := head[0]
	if c.proto.base64 {
		ch -= '0'
		r = base64.NewDecoder(base64.StdEncoding, r)
	} else if typ != websocket.BinaryMessage {
		return fmt.Errorf("text message on a binary protocol")
	}
	in := c.inputs[ch]
	if in == nil {
		return fmt.Errorf("data on channel %d, which the client may not write", ch)
	}
	_, err := io.Copy(in.w, r) // blocks until the reader takes it (back-pressure)
	return err
}

// endInputs gives every input reader EOF.
func (c *channelConn) endInputs() {
	for _, in := range c.inputs {
		_ = in.w.Close()
	}
}

// stopInputs unblocks the read loop for good: data for channels nobody
// reads any more is dropped.
func (c *channelConn) stopInputs() {
	for _, in := range c.inputs {
		_ = in.r.CloseWithError(io.ErrClosedPipe)
	}
}

// finish sends a normal close, waits briefly for the client's reply, and
// closes the connection.
func (c *channelConn) finish() {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeWait))
	select {
	case <-c.done:
	case <-time.After(closeWait):
	}
	_ = c.ws.Close()
	<-c.done
}

// goingAway closes a WebSocket because the server is stopping, telling the
// client so first.
type goingAway struct{ ws *websocket.Conn }

func (g goingAway) Close() error {
	msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "streaming server is stopping")
	_ = g.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	return g.ws.Close()
}
