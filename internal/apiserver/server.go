// Package apiserver serves the Kubernetes REST API over etcd: discovery, CRUD, patch, watch and
// subresources for the built-in resources, with every request passing authentication →
// authorization → admission (mutating, then validating) → storage.
//
//	request ─▶ authn ─▶ authz ─▶ route (requestInfo) ─▶ decode+default ─▶ mutating admission
//	        ─▶ validation ─▶ validating admission ─▶ store (etcd Txn) ─▶ response
//	watch/list ◀── watchcache (one etcd watch per resource)
package apiserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/klite/klite/internal/apiserver/admission"
	"github.com/klite/klite/internal/apiserver/apply"
	"github.com/klite/klite/internal/apiserver/auth"
	"github.com/klite/klite/internal/storage"
)

// Validator checks objects the way a resource's strategy does upstream.
type Validator interface {
	ValidateCreate(obj runtime.Object) field.ErrorList
	ValidateUpdate(obj, old runtime.Object) field.ErrorList
	ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList
}

// TableConverter renders objects of one kind as a meta.k8s.io/v1 Table.
type TableConverter func(gk schema.GroupKind, objs []runtime.Object, now time.Time, includeObject string, noHeaders bool) (*metav1.Table, error)

// Config is everything the API server needs. Zero values get sensible defaults in New.
type Config struct {
	Storage       storage.Interface
	Authenticator auth.Authenticator
	Authorizer    auth.Authorizer
	Mutating      []admission.Mutating
	Validating    []admission.Validating
	// Defaulter sets defaults on a new (old == nil) or updated object.
	Defaulter func(obj, old runtime.Object)
	Validator Validator
	Tables    TableConverter
	// KubeletClient is the TLS config for proxying pods/log, exec, attach, portforward and
	// nodes/proxy to kubelets; nil disables those subresources.
	KubeletClient *tls.Config
	// Extra serves non-resource paths (such as /openapi/) before the API's own routes.
	Extra map[string]http.Handler
	// ServiceAccounts configures service-account tokens: the TokenRequest API, their
	// authentication (ahead of Authenticator) and OIDC discovery (see token.go).
	ServiceAccounts ServiceAccountTokens

	ServiceCIDR    string // default 10.43.0.0/16
	NodePortRange  [2]int // default 30000-32767
	MaxBodyBytes   int64  // default 3 MiB
	BookmarkPeriod time.Duration
	// WatchCacheSize is how many recent events each resource's watch cache keeps for watches
	// resuming from a resourceVersion (default 10000).
	WatchCacheSize int
	Logger         *slog.Logger
	Now            func() time.Time
}

// Server is a running API server over one etcd.
type Server struct {
	cfg       Config
	codec     *codec
	resources []*resource
	stores    map[schema.GroupVersionResource]*store
	byKind    map[schema.GroupVersionKind]*store
	groups    []schema.GroupVersion
	alloc     *allocators
	ready     atomic.Bool
	started   chan struct{}
	handler   http.Handler
	openapi   http.Handler
	fields    *apply.Manager
	watchesWG sync.WaitGroup
	stopping  chan struct{}
}

// New validates and completes cfg and builds the server; Start runs it.
func New(cfg Config) (*Server, error) {
	if cfg.Storage == nil {
		return nil, fmt.Errorf("apiserver: no storage")
	}
	if err := complete(&cfg); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		codec:    newCodec(),
		stores:   map[schema.GroupVersionResource]*store{},
		byKind:   map[schema.GroupVersionKind]*store{},
		started:  make(chan struct{}),
		stopping: make(chan struct{}),
	}
	seen := map[schema.GroupVersion]bool{}
	for _, res := range resourceTable() {
		st := newStore(res, cfg.Storage, s.codec, cfg.WatchCacheSize)
		s.resources = append(s.resources, res)
		s.stores[res.gvr()] = st
		s.byKind[res.gvk] = st
		if gv := res.gvk.GroupVersion(); !seen[gv] {
			seen[gv] = true
			s.groups = append(s.groups, gv)
		}
	}
	fields, err := newFieldManager(s.resources)
	if err != nil {
		return nil, err
	}
	s.fields = fields
	alloc, err := newAllocators(cfg.Storage, cfg.ServiceCIDR, cfg.NodePortRange)
	if err != nil {
		return nil, err
	}
	s.alloc = alloc
	if s.openapi, err = s.openAPIHandler(); err != nil {
		return nil, err
	}
	if err := s.enableServiceAccountTokens(); err != nil {
		return nil, err
	}
	s.handler = s.buildHandler()
	return s, nil
}

func complete(cfg *Config) error {
	if cfg.Authenticator == nil {
		return fmt.Errorf("apiserver: no authenticator")
	}
	if cfg.Authorizer == nil {
		cfg.Authorizer = auth.AllowAuthenticated{}
	}
	if cfg.Defaulter == nil {
		cfg.Defaulter = upstreamDefaults
	}
	if cfg.Validator == nil {
		cfg.Validator = upstreamValidation{}
	}
	if cfg.Tables == nil {
		cfg.Tables = defaultTable
	}
	if cfg.ServiceCIDR == "" {
		cfg.ServiceCIDR = "10.43.0.0/16"
	}
	if cfg.NodePortRange == [2]int{} {
		cfg.NodePortRange = [2]int{30000, 32767}
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 3 << 20
	}
	if cfg.BookmarkPeriod == 0 {
		cfg.BookmarkPeriod = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return nil
}

// Handler is the server's HTTP handler (authentication included; TLS is the caller's).
func (s *Server) Handler() http.Handler { return s.handler }

// Start runs the watch caches and the built-in namespaces' bootstrap until ctx ends. It returns
// after every goroutine it started has exited and every open watch has ended.
func (s *Server) Start(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, st := range s.stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = st.cache.Start(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.compactLoop(ctx)
	}()
	err := s.bootstrap(ctx)
	if err == nil {
		wg.Go(func() { s.repairLoop(ctx) })
	}
	if err == nil {
		s.ready.Store(true)
		close(s.started)
	}
	<-ctx.Done()
	s.ready.Store(false)
	close(s.stopping)
	wg.Wait()
	s.watchesWG.Wait()
	return err
}

// Ready reports whether the server serves (caches filled, built-in namespaces present).
func (s *Server) Ready() bool { return s.ready.Load() }

// WaitReady blocks until the server is ready or ctx ends.
func (s *Server) WaitReady(ctx context.Context) error {
	select {
	case <-s.started:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
