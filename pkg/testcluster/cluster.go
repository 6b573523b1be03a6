package testcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/klite/klite/internal/apiserver/apiservertest"
)

// StartTimeout bounds how long Start waits for the cluster to come up.
const StartTimeout = 60 * time.Second

// StopTimeout bounds how long the cleanup Start registers waits for the cluster to stop.
const StopTimeout = 30 * time.Second

// Cluster is a running in-process cluster: embedded etcd, the API server, and — each talking to
// the API server only through client-go — the scheduler, the controller manager and the
// simulated nodes.
type Cluster struct {
	api     *apiservertest.Cluster
	config  *rest.Config
	client  kubernetes.Interface
	opts    options
	dir     string
	ownsDir bool // dir was created by New and is removed by Stop

	mu    sync.Mutex
	pools map[string]*component // simulated node pools, by name
	plane []*component          // scheduler, controller manager: stopped in reverse order
	nodes []string

	stopOnce sync.Once
	stopErr  error
}

// Start starts a cluster for one test or benchmark, fails tb if it does not come up within
// StartTimeout, and stops it when tb and its subtests end (failing tb if it does not stop
// cleanly). Its data lives in tb.TempDir().
func Start(tb testing.TB, opts ...Option) *Cluster {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	c, err := New(ctx, tb.TempDir(), opts...)
	if err != nil {
		tb.Fatalf("testcluster: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), StopTimeout)
		defer cancel()
		if err := c.Stop(ctx); err != nil {
			tb.Errorf("testcluster: %v", err)
		}
	})
	return c
}

// New starts a cluster with its data in dir (a new temporary directory, removed by Stop, when
// dir is empty) and returns once the nodes are Ready and the default ServiceAccount exists;
// ctx bounds the start only. The caller must call Stop.
func New(ctx context.Context, dir string, opts ...Option) (*Cluster, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	c := &Cluster{opts: o, dir: dir, pools: map[string]*component{}}
	if err := c.prepareDir(); err != nil {
		return nil, err
	}
	if err := c.start(ctx); err != nil {
		stopCtx, cancel := context.WithTimeout(context.Background(), StopTimeout)
		defer cancel()
		return nil, errors.Join(err, c.Stop(stopCtx))
	}
	return c, nil
}

func (c *Cluster) prepareDir() error {
	if c.dir != "" {
		return os.MkdirAll(c.dir, 0o700)
	}
	dir, err := os.MkdirTemp("", "klite-testcluster-*")
	c.dir, c.ownsDir = dir, true
	return err
}

// start brings the components up in dependency order and waits until the cluster is usable.
func (c *Cluster) start(ctx context.Context) error {
	api, err := apiservertest.Start(c.dir, apiservertest.Options{})
	if err != nil {
		return fmt.Errorf("api server: %w", err)
	}
	c.api = api
	c.config = rest.CopyConfig(api.Config)
	c.config.QPS, c.config.Burst = c.opts.qps, c.opts.burst
	if c.client, err = kubernetes.NewForConfig(c.config); err != nil {
		return err
	}
	if err := c.startControlPlane(); err != nil {
		return err
	}
	if err := c.startPools(ctx); err != nil {
		return err
	}
	return c.waitUsable(ctx)
}

// Config returns a copy of the admin's client configuration: the API server's https URL, its
// CA, and a bearer token of a system:masters user.
func (c *Cluster) Config() *rest.Config { return rest.CopyConfig(c.config) }

// Client returns a clientset for the admin.
func (c *Cluster) Client() kubernetes.Interface { return c.client }

// DataDir is the directory holding etcd's data and the local-path volumes.
func (c *Cluster) DataDir() string { return c.dir }

// Nodes lists the simulated nodes' names, pool by pool.
func (c *Cluster) Nodes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.nodes)
}

// StopPool stops the simulated kubelet of the named pool: its nodes stay registered but their
// Leases are no longer renewed, so after the node monitor grace period the node lifecycle
// controller marks them NotReady and taints them, as when real kubelets die.
func (c *Cluster) StopPool(ctx context.Context, name string) error {
	c.mu.Lock()
	p := c.pools[name]
	c.mu.Unlock()
	if p == nil {
		return fmt.Errorf("no node pool %q", name)
	}
	return p.stop(ctx)
}

// Stop stops the simulated nodes, the controller manager, the scheduler, the API server and
// etcd, in that order, and returns once all their goroutines have exited (or ctx ends). It is
// idempotent.
func (c *Cluster) Stop(ctx context.Context) error {
	c.stopOnce.Do(func() { c.stopErr = c.stop(ctx) })
	return c.stopErr
}

func (c *Cluster) stop(ctx context.Context) error {
	c.mu.Lock()
	comps := make([]*component, 0, len(c.pools)+len(c.plane))
	for _, p := range c.pools {
		comps = append(comps, p)
	}
	for i := len(c.plane) - 1; i >= 0; i-- {
		comps = append(comps, c.plane[i])
	}
	c.mu.Unlock()
	var errs []error
	for _, comp := range comps {
		errs = append(errs, comp.stop(ctx))
	}
	if c.api != nil {
		c.api.Stop()
	}
	if c.ownsDir {
		errs = append(errs, os.RemoveAll(c.dir))
	}
	return errors.Join(errs...)
}
