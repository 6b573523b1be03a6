package testcluster

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/klite/klite/internal/app/controllermanager"
	"github.com/klite/klite/internal/informer"
	"github.com/klite/klite/internal/scheduler"
	"github.com/klite/klite/internal/sim"
)

// component is one running part of the cluster: a goroutine running fn until cancelled.
type component struct {
	name   string
	cancel context.CancelFunc
	done   chan struct{}
	err    error // fn's result, set before done closes

	once    sync.Once
	stopErr error
}

// run starts fn(ctx) on its own goroutine under a context cancelled by stop.
func run(name string, fn func(context.Context) error) *component {
	ctx, cancel := context.WithCancel(context.Background())
	c := &component{name: name, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			c.err = err
		}
	}()
	return c
}

// stop cancels the component and waits for it to return, at most until ctx ends.
func (c *component) stop(ctx context.Context) error {
	c.once.Do(func() {
		c.cancel()
		select {
		case <-c.done:
			if c.err != nil {
				c.stopErr = fmt.Errorf("%s failed: %w", c.name, c.err)
			}
		case <-ctx.Done():
			c.stopErr = fmt.Errorf("%s did not stop: %w", c.name, ctx.Err())
		}
	})
	return c.stopErr
}

// failed reports an error if the component has already returned.
func (c *component) failed() error {
	select {
	case <-c.done:
		if c.err != nil {
			return fmt.Errorf("%s failed: %w", c.name, c.err)
		}
		return fmt.Errorf("%s stopped", c.name)
	default:
		return nil
	}
}

// startControlPlane starts the scheduler and, unless no controllers were asked for, the
// controller manager, neither with leader election (each cluster has one of each), on one set of
// informers as in klite server.
func (c *Cluster) startControlPlane() error {
	shared, err := c.sharedInformers()
	if err != nil {
		return err
	}
	sched, err := c.newScheduler(shared)
	if err != nil {
		return err
	}
	c.plane = append(c.plane, run("scheduler", sched.Start))
	if len(c.opts.controllers) == 0 {
		return nil
	}
	cm := c.opts.controllerManager(c.dir)
	cm.Informers = shared
	cfg := c.userConfig("klite-controller-manager")
	c.plane = append(c.plane, run("controller manager", func(ctx context.Context) error { return controllermanager.Run(ctx, cfg, cm) }))
	return nil
}

// controllerManager is the controller manager's configuration, keeping data under dir.
func (o *options) controllerManager(dir string) *controllermanager.Options {
	cm := controllermanager.NewOptions()
	cm.Controllers = o.controllers
	cm.LeaderElect = false
	cm.RouteKlog = false // klog's logger is process-global; tests may run several clusters
	cm.NodeMonitorGracePeriod = o.gracePeriod
	cm.LocalPathDir = filepath.Join(dir, "storage")
	cm.ClusterCIDR = clusterCIDR(o.totalNodes()).String()
	cm.Logger = o.logger
	return cm
}

// sharedInformers makes the informers the scheduler and the controller manager share; the
// control plane's first component owns them, so they stop after the others.
func (c *Cluster) sharedInformers() (*informer.Shared, error) {
	ctx, cancel := context.WithCancel(context.Background())
	shared, err := informer.NewSharedForConfig(ctx, c.config, "klite-testcluster-informers")
	if err != nil {
		cancel()
		return nil, err
	}
	c.plane = append(c.plane, run("shared informers", func(stop context.Context) error {
		<-stop.Done()
		cancel()
		shared.Shutdown()
		return nil
	}))
	return shared, nil
}

// newScheduler builds the scheduler with klite scheduler's default profile and rate limits.
func (c *Cluster) newScheduler(shared *informer.Shared) (*scheduler.Scheduler, error) {
	cfg := c.userConfig("klite-scheduler")
	cfg.QPS, cfg.Burst = 200, 400 // klite scheduler's defaults
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	eventClient, err := kubernetes.NewForConfig(cfg) // its own rate limit, as in klite scheduler
	if err != nil {
		return nil, err
	}
	return scheduler.New(context.Background(), scheduler.Config{Client: client, EventClient: eventClient, Informers: shared.View(),
		Logger: c.opts.logger.With("component", "scheduler")})
}

// userConfig is the admin config under another user agent.
func (c *Cluster) userConfig(agent string) *rest.Config {
	cfg := rest.CopyConfig(c.config)
	cfg.UserAgent = agent
	return cfg
}

// startPools registers every pool's nodes and waits until each simulated kubelet watches its
// pods.
func (c *Cluster) startPools(ctx context.Context) error {
	first := 0
	for _, p := range c.opts.pools {
		if p.Nodes == 0 {
			continue
		}
		s, err := c.newSim(p, first)
		if err != nil {
			return fmt.Errorf("node pool %q: %w", p.Name, err)
		}
		c.mu.Lock()
		comp := run("node pool "+p.Name, s.Start)
		c.pools[p.Name] = comp
		c.nodes = append(c.nodes, s.NodeNames()...)
		c.mu.Unlock()
		if err := waitReady(ctx, comp, s.Ready()); err != nil {
			return err
		}
		first += p.Nodes
	}
	return nil
}

func waitReady(ctx context.Context, comp *component, ready <-chan struct{}) error {
	select {
	case <-ready:
		return nil
	case <-comp.done:
		return comp.failed()
	case <-ctx.Done():
		return fmt.Errorf("%s not ready: %w", comp.name, ctx.Err())
	}
}

// newSim builds the simulated kubelet of pool p, whose first node is the cluster's first-th
// (so pod CIDRs never overlap between pools).
func (c *Cluster) newSim(p NodePool, first int) (*sim.Sim, error) {
	cfg := c.userConfig("klite-sim")
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	sc := sim.Config{
		Client: client, Nodes: p.Nodes, NamePrefix: p.Name, Pods: p.Pods, Labels: p.Labels, Taints: p.Taints,
		PodCIDRStart:  podCIDRStart(clusterCIDR(c.opts.totalNodes()), first),
		JobDuration:   c.opts.jobDuration,
		LeaseDuration: max(time.Second, c.opts.gracePeriod),
		RenewInterval: min(10*time.Second, max(100*time.Millisecond, c.opts.gracePeriod/4)),
		Workers:       p.Workers,
		Logger:        c.opts.logger.With("component", "sim", "pool", p.Name),
	}
	if sc.Workers == 0 {
		sc.Workers = max(16, p.Nodes/25)
	}
	if sc.CPU, err = quantity(p.CPU); err != nil {
		return nil, fmt.Errorf("cpu: %w", err)
	}
	if sc.Memory, err = quantity(p.Memory); err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	return sim.New(sc)
}

// clusterCIDR is klite's default 10.42.0.0/16 when it has a /24 for every node, else
// 10.64.0.0/10 (16,384 nodes).
func clusterCIDR(nodes int) netip.Prefix {
	if nodes <= 256 {
		return netip.MustParsePrefix("10.42.0.0/16")
	}
	return netip.MustParsePrefix("10.64.0.0/10")
}

// podCIDRStart is the /24 of the cluster's i-th node in the cluster CIDR.
func podCIDRStart(cidr netip.Prefix, i int) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], binary.BigEndian.Uint32(cidr.Addr().AsSlice())+uint32(i)<<8)
	return netip.AddrFrom4(b)
}

func (o *options) totalNodes() int {
	n := 0
	for _, p := range o.pools {
		n += p.Nodes
	}
	return n
}
