package informer

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/informers/apps"
	"k8s.io/client-go/informers/batch"
	"k8s.io/client-go/informers/coordination"
	"k8s.io/client-go/informers/core"
	"k8s.io/client-go/informers/discovery"
	"k8s.io/client-go/informers/internalinterfaces"
	"k8s.io/client-go/informers/policy"
	"k8s.io/client-go/informers/scheduling"
	"k8s.io/client-go/informers/storage"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// Shared is one informer factory for the components of one process (the scheduler and the
// controller manager inside `klite server`), so that each object is cached and decoded once
// per process instead of once per component. Its informers run for the owner's context,
// whatever the components do: each component works through a View, whose Start and Shutdown
// concern only that component.
type Shared struct {
	f    informers.SharedInformerFactory
	stop <-chan struct{}
}

// NewShared returns a shared factory (see NewFactory) whose informers, once a View starts
// them, run until ctx ends; call Shutdown after ctx ends to wait for them.
func NewShared(ctx context.Context, client kubernetes.Interface) *Shared {
	return &Shared{f: NewFactory(client), stop: ctx.Done()}
}

// NewSharedForConfig is NewShared with a client of its own made from cfg: protobuf, as the
// components read, and no client-side rate limit (it lists and watches, a few requests per
// resource).
func NewSharedForConfig(ctx context.Context, cfg *rest.Config, userAgent string) (*Shared, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = userAgent
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cfg.QPS, cfg.Burst = -1, 0
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return NewShared(ctx, client), nil
}

// Shutdown waits for the informers to stop (after the owner's context ended).
func (s *Shared) Shutdown() { s.f.Shutdown() }

// View is one component's use of a Shared factory: an informers.SharedInformerFactory whose
// Start starts the shared informers for the owner's lifetime, and whose Shutdown removes the
// event handlers registered through it, leaving the informers to the others. A component that
// stops and starts again (a controller manager that lost and regained its lease) takes a new
// View each time.
//
// Handlers are tracked for the informers reached through InformerFor and the API groups below
// (those klite's components use); others reach the shared informers untracked.
type View struct {
	informers.SharedInformerFactory // the shared one, for what is not overridden
	s                               *Shared

	mu   sync.Mutex
	regs []registration
}

type registration struct {
	inf cache.SharedIndexInformer
	reg cache.ResourceEventHandlerRegistration
}

// View returns a new view of s.
func (s *Shared) View() *View { return &View{SharedInformerFactory: s.f, s: s} }

// Start starts the informers registered so far, for the owner's lifetime; stopCh is ignored.
func (v *View) Start(<-chan struct{}) { v.s.f.Start(v.s.stop) }

// Shutdown removes this view's event handlers; the informers keep running.
func (v *View) Shutdown() {
	v.mu.Lock()
	regs := v.regs
	v.regs = nil
	v.mu.Unlock()
	for _, r := range regs {
		_ = r.inf.RemoveEventHandler(r.reg)
	}
}

// InformerFor returns the shared informer for obj, tracking the handlers added through it.
func (v *View) InformerFor(obj runtime.Object, newFunc internalinterfaces.NewInformerFunc) cache.SharedIndexInformer {
	return &tracked{SharedIndexInformer: v.s.f.InformerFor(obj, newFunc), v: v}
}

func (v *View) Apps() apps.Interface                 { return apps.New(v, "", nil) }
func (v *View) Batch() batch.Interface               { return batch.New(v, "", nil) }
func (v *View) Coordination() coordination.Interface { return coordination.New(v, "", nil) }
func (v *View) Core() core.Interface                 { return core.New(v, "", nil) }
func (v *View) Discovery() discovery.Interface       { return discovery.New(v, "", nil) }
func (v *View) Policy() policy.Interface             { return policy.New(v, "", nil) }
func (v *View) Scheduling() scheduling.Interface     { return scheduling.New(v, "", nil) }
func (v *View) Storage() storage.Interface           { return storage.New(v, "", nil) }

func (v *View) track(inf cache.SharedIndexInformer, reg cache.ResourceEventHandlerRegistration, err error) (cache.ResourceEventHandlerRegistration, error) {
	if err == nil {
		v.mu.Lock()
		v.regs = append(v.regs, registration{inf, reg})
		v.mu.Unlock()
	}
	return reg, err
}

// tracked is a shared informer whose new handlers are recorded in a View.
type tracked struct {
	cache.SharedIndexInformer
	v *View
}

func (t *tracked) AddEventHandler(h cache.ResourceEventHandler) (cache.ResourceEventHandlerRegistration, error) {
	reg, err := t.SharedIndexInformer.AddEventHandler(h)
	return t.v.track(t.SharedIndexInformer, reg, err)
}

func (t *tracked) AddEventHandlerWithResyncPeriod(h cache.ResourceEventHandler, resync time.Duration) (cache.ResourceEventHandlerRegistration, error) {
	reg, err := t.SharedIndexInformer.AddEventHandlerWithResyncPeriod(h, resync)
	return t.v.track(t.SharedIndexInformer, reg, err)
}

func (t *tracked) AddEventHandlerWithOptions(h cache.ResourceEventHandler, o cache.HandlerOptions) (cache.ResourceEventHandlerRegistration, error) {
	reg, err := t.SharedIndexInformer.AddEventHandlerWithOptions(h, o)
	return t.v.track(t.SharedIndexInformer, reg, err)
}
