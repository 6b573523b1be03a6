// Package streaming serves the CRI's streaming calls (Exec, Attach,
// PortForward) the way the kubelet expects: GetExec/GetAttach/GetPortForward
// hand out a one-time URL on this server; the client (the kubelet's proxy,
// crictl, kubectl) upgrades a request to that URL and runs the remotecommand
// or portforward.k8s.io protocol over it. The same URL speaks two
// transports, chosen by the request's Upgrade header:
//
//   - SPDY/3.1: remotecommand v2–v4.channel.k8s.io (one SPDY stream per
//     stdin/stdout/stderr/error/resize), portforward.k8s.io (an error and a
//     data stream per forwarded connection).
//   - WebSocket (kubectl 1.29+ tries it first): exec and attach speak the
//     channel protocols v5/v4.channel.k8s.io (and the older channel.k8s.io,
//     base64 variants), one channel byte in front of every message;
//     port-forward ("SPDY/3.1+portforward.k8s.io") tunnels the very same
//     SPDY session through the WebSocket's binary messages.
//
// The flow:
//
//	Exec RPC ──► GetExec ──► http://127.0.0.1:port/exec/<token>   (attach: /attach/<token>)
//	client ──Upgrade: SPDY/3.1──► serveExec ──► Runtime.Exec(streams) ──► status on the error stream
//	client ──Upgrade: websocket─► serveExecWebSocket ──► Runtime.Exec(channels) ──► status on channel 3, close
//	client ──Upgrade: websocket─► servePortForwardTunnel ──► SPDY over the WebSocket ──► Runtime.PortForward
package streaming

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TermSize is a terminal's size in characters.
type TermSize struct{ Width, Height uint16 }

// Streams connect an exec'd process; nil streams are not connected.
type Streams struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	TTY            bool
	Resize         <-chan TermSize
}

// Runtime runs what the streaming calls ask for.
type Runtime interface {
	// Exec runs cmd in the container and returns its exit code.
	Exec(ctx context.Context, containerID string, cmd []string, s Streams) (int, error)
	// Attach connects the streams to the container's main process until
	// its output ends or ctx is cancelled.
	Attach(ctx context.Context, containerID string, s Streams) error
	// PortForward connects stream to port on the sandbox's localhost
	// until either side closes.
	PortForward(ctx context.Context, sandboxID string, port int32, stream io.ReadWriteCloser) error
}

// Config configures a Server.
type Config struct {
	// Addr to listen on; default "127.0.0.1:0".
	Addr    string
	Runtime Runtime
	// TokenTTL is how long a URL stays valid; default one minute.
	TokenTTL time.Duration
	Logger   *slog.Logger
}

// Server hands out streaming URLs and serves them.
type Server struct {
	cfg Config
	ln  net.Listener
	log *slog.Logger

	mu       sync.Mutex
	pending  map[string]pending
	sessions sessions
}

type pending struct {
	req     any // *runtimeapi.ExecRequest, AttachRequest or PortForwardRequest
	expires time.Time
}

// New listens on cfg.Addr; Start serves.
func New(cfg Config) (*Server, error) {
	if cfg.Runtime == nil {
		return nil, errors.New("streaming: runtime is required")
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("streaming: %w", err)
	}
	return &Server{cfg: cfg, ln: ln, log: cfg.Logger, pending: map[string]pending{}}, nil
}

// Close stops listening (Start does it on its own when ctx ends).
func (s *Server) Close() error { return s.ln.Close() }

// URL is the server's base URL.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Start serves until ctx is cancelled, then ends the sessions in progress
// and returns once their handlers have.
func (s *Server) Start(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /exec/{token}", s.serveExec)
	mux.HandleFunc("GET /exec/{token}", s.serveExec)
	mux.HandleFunc("POST /attach/{token}", s.serveExec)
	mux.HandleFunc("GET /attach/{token}", s.serveExec)
	mux.HandleFunc("POST /portforward/{token}", s.servePortForward)
	mux.HandleFunc("GET /portforward/{token}", s.servePortForward)
	srv := &http.Server{Handler: s.sessions.counted(mux), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-served:
		}
		_ = srv.Close()
	}()
	err := srv.Serve(s.ln)
	close(served)
	s.sessions.end() // upgraded connections outlive srv.Close
	if !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// GetExec validates req and returns the URL to stream it from.
func (s *Server) GetExec(req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	switch {
	case req.GetContainerId() == "" || len(req.GetCmd()) == 0:
		return nil, errors.New("exec: container and command are required")
	case !req.GetStdin() && !req.GetStdout() && !req.GetStderr():
		return nil, errors.New("exec: one of stdin, stdout or stderr is required")
	case req.GetTty() && req.GetStderr():
		return nil, errors.New("exec: tty and stderr cannot both be set")
	}
	return &runtimeapi.ExecResponse{Url: s.URL() + "/exec/" + s.remember(req)}, nil
}

// GetAttach validates req and returns the URL to attach through.
func (s *Server) GetAttach(req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	switch {
	case req.GetContainerId() == "":
		return nil, errors.New("attach: container is required")
	case !req.GetStdin() && !req.GetStdout() && !req.GetStderr():
		return nil, errors.New("attach: one of stdin, stdout or stderr is required")
	case req.GetTty() && req.GetStderr():
		return nil, errors.New("attach: tty and stderr cannot both be set")
	}
	return &runtimeapi.AttachResponse{Url: s.URL() + "/attach/" + s.remember(req)}, nil
}

// GetPortForward returns the URL to forward the sandbox's ports over.
func (s *Server) GetPortForward(req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	if req.GetPodSandboxId() == "" {
		return nil, errors.New("port forward: sandbox is required")
	}
	return &runtimeapi.PortForwardResponse{Url: s.URL() + "/portforward/" + s.remember(req)}, nil
}

func (s *Server) remember(req any) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for t, p := range s.pending {
		if now.After(p.expires) {
			delete(s.pending, t)
		}
	}
	s.pending[token] = pending{req: req, expires: now.Add(s.cfg.TokenTTL)}
	return token
}

// take returns and forgets the request behind a token (URLs are single use).
func (s *Server) take(token string) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pending[strings.TrimSpace(token)]
	delete(s.pending, token)
	if !ok || time.Now().After(p.expires) {
		return nil, false
	}
	return p.req, true
}
