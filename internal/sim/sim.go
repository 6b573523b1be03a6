package sim

import (
	"context"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/util/workqueue"

	"github.com/klite/klite/internal/informer"
)

// Sim is a set of simulated nodes.
type Sim struct {
	cfg    Config
	nodes  []*node
	byName map[string]*node
	queue  workqueue.TypedRateLimitingInterface[string]

	ready chan struct{}
}

// New validates cfg and prepares the nodes; nothing is written until Start.
func New(cfg Config) (*Sim, error) {
	if err := cfg.complete(); err != nil {
		return nil, err
	}
	s := &Sim{cfg: cfg, byName: make(map[string]*node, cfg.Nodes), ready: make(chan struct{})}
	for i := range cfg.Nodes {
		n := newNode(&s.cfg, i)
		s.nodes = append(s.nodes, n)
		s.byName[n.name] = n
	}
	return s, nil
}

// NodeNames lists the simulated nodes' names in index order.
func (s *Sim) NodeNames() []string {
	out := make([]string, len(s.nodes))
	for i, n := range s.nodes {
		out[i] = n.name
	}
	return out
}

// Ready is closed once every node is registered and the pod informer has synced.
func (s *Sim) Ready() <-chan struct{} { return s.ready }

// Start registers the nodes and keeps them alive until ctx is cancelled. It returns after every
// goroutine it started has exited; from then on nothing renews the nodes' Leases.
func (s *Sim) Start(ctx context.Context) error {
	log := s.cfg.Logger
	start := time.Now()
	if err := s.forEachNode(ctx, s.register); err != nil {
		return err
	}
	log.Info("simulated nodes registered", "nodes", len(s.nodes), "took", time.Since(start).Round(time.Millisecond))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.queue = workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Clock: s.cfg.Clock})
	factory := informer.NewFactory(s.cfg.Client, informers.WithTweakListOptions(boundPods))
	pods := factory.Core().V1().Pods()
	lister := pods.Lister()
	if _, err := pods.Informer().AddEventHandler(s.podHandler()); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())

	var wg sync.WaitGroup
	wg.Go(func() { s.loop(ctx, s.cfg.RenewInterval, s.renewLease) })
	wg.Go(func() { s.loop(ctx, s.cfg.StatusInterval, s.heartbeat) })
	for range s.cfg.Workers {
		wg.Go(func() { s.podWorker(ctx, lister) })
	}
	close(s.ready)
	<-ctx.Done()
	s.queue.ShutDown()
	factory.Shutdown()
	wg.Wait()
	return nil
}

// loop runs fn over every node each interval until ctx ends.
func (s *Sim) loop(ctx context.Context, interval time.Duration, fn func(context.Context, *node) error) {
	t := s.cfg.Clock.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			if err := s.forEachNode(ctx, fn); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Warn("node renewal failed", "err", err)
			}
		}
	}
}

// forEachNode runs fn for every node on Workers goroutines and returns the first error.
func (s *Sim) forEachNode(ctx context.Context, fn func(context.Context, *node) error) error {
	var (
		mu    sync.Mutex
		first error
	)
	work := make(chan *node)
	var wg sync.WaitGroup
	for range s.cfg.Workers {
		wg.Go(func() {
			for n := range work {
				if err := fn(ctx, n); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, n := range s.nodes {
		if ctx.Err() != nil {
			break
		}
		work <- n
	}
	close(work)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}

// boundPods narrows the shared informer to pods already assigned to some node.
func boundPods(o *metav1.ListOptions) { o.FieldSelector = "spec.nodeName!=" }
