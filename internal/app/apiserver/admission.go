package apiserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/klite/klite/internal/apiserver"
	"github.com/klite/klite/internal/apiserver/admission/limitranger"
	"github.com/klite/klite/internal/apiserver/admission/resourcequota"
	"github.com/klite/klite/internal/apiserver/auth"
	"github.com/klite/klite/internal/informer"
)

// newWithAdmission builds the API server with klite's admission plugins: LimitRanger (mutating
// and validating) and ResourceQuota (validating). The plugins read LimitRanges and
// ResourceQuotas through client-go informers, and charge quotas, over an in-memory loopback
// connection to this same server, authenticated by a random per-process token. The loopback
// and the informers stop when ctx is cancelled.
func newWithAdmission(ctx context.Context, cfg apiserver.Config) (*apiserver.Server, error) {
	loop, err := newLoopback()
	if err != nil {
		return nil, err
	}
	cfg.Authenticator = auth.Union{loop.tokens(), cfg.Authenticator}
	client, err := kubernetes.NewForConfig(loop.restConfig())
	if err != nil {
		return nil, err
	}
	factory := informer.NewFactory(client)
	limits, quotas := factory.Core().V1().LimitRanges(), factory.Core().V1().ResourceQuotas()
	// The server's own bootstrap writes, before it serves anyone, cannot wait for informers
	// that read from it; every later write waits until they have synced.
	var api *apiserver.Server
	synced := func(inf cache.SharedIndexInformer) func() bool {
		return func() bool { return api == nil || !api.Ready() || inf.HasSynced() }
	}
	ranger, err := limitranger.New(limitranger.Config{LimitRanges: limits.Lister(), Synced: synced(limits.Informer())})
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	quota, err := resourcequota.New(resourcequota.Config{Quotas: quotas.Lister(), Client: client.CoreV1(),
		Synced: synced(quotas.Informer()), Logger: logger.With("admission", resourcequota.Name)})
	if err != nil {
		return nil, err
	}
	cfg.Mutating = append(cfg.Mutating, ranger)
	cfg.Validating = append(cfg.Validating, ranger, quota)
	api, err = apiserver.New(cfg)
	if err != nil {
		return nil, err
	}
	go loop.serve(ctx, api, factory, logger)
	return api, nil
}

// loopback serves the API server's handler to in-process clients over net.Pipe connections.
type loopback struct {
	token string
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newLoopback() (*loopback, error) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return nil, err
	}
	return &loopback{token: hex.EncodeToString(buf), conns: make(chan net.Conn), done: make(chan struct{})}, nil
}

// tokens authenticates the loopback clients as the API server itself.
func (l *loopback) tokens() auth.Tokens {
	return auth.Tokens{l.token: {Name: "system:apiserver", UID: "klite-apiserver-loopback", Groups: []string{"system:masters"}}}
}

func (l *loopback) restConfig() *rest.Config {
	return &rest.Config{Host: "http://apiserver.loopback", BearerToken: l.token, Dial: l.dial, QPS: -1, Timeout: 30 * time.Second}
}

// serve answers loopback connections until ctx ends, and starts the informers once the
// server is ready.
func (l *loopback) serve(ctx context.Context, api *apiserver.Server, factory informers.SharedInformerFactory, logger *slog.Logger) {
	srv := &http.Server{Handler: api.Handler(), ReadHeaderTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("loopback server stopped", "err", err)
		}
	}()
	if api.WaitReady(ctx) == nil {
		factory.Start(ctx.Done())
	}
	<-ctx.Done()
	_ = srv.Close()
	factory.Shutdown()
}

func (l *loopback) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
	case <-ctx.Done():
	}
	_ = client.Close()
	_ = server.Close()
	return nil, net.ErrClosed
}

// Accept, Close and Addr make the loopback a net.Listener for http.Server.
func (l *loopback) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *loopback) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *loopback) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "apiserver.loopback" }
