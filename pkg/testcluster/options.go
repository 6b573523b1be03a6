package testcluster

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// DefaultPool names the pool of simulated nodes every cluster has unless WithNodes(0): its
// nodes are "node-0", "node-1", ….
const DefaultPool = "node"

// NodePool is a group of identical simulated nodes, named <Name>-0 … <Name>-<Nodes-1>, kept
// alive by one simulated kubelet that Cluster.StopPool can stop on its own.
type NodePool struct {
	Name   string
	Nodes  int
	CPU    string // capacity and allocatable cpu per node, e.g. "4" (default 32)
	Memory string // capacity and allocatable memory per node, e.g. "8Gi" (default 256Gi)
	Pods   int    // pod capacity per node (default 110)
	Labels map[string]string
	Taints []corev1.Taint
	// Workers bounds the simulated kubelet's concurrent API calls (default 16, or one per 25
	// nodes for larger pools).
	Workers int
}

// Option changes how Start builds the cluster.
type Option func(*options)

type options struct {
	pools       []NodePool
	controllers []string
	gracePeriod time.Duration
	jobDuration time.Duration
	qps         float32
	burst       int
	logger      *slog.Logger
}

func defaultOptions() options {
	return options{
		pools:       []NodePool{{Name: DefaultPool, Nodes: 3}},
		controllers: []string{"*"},
		gracePeriod: 40 * time.Second,
		jobDuration: time.Second,
		qps:         1000,
		burst:       2000,
		logger:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

// WithNodes sets how many nodes the default pool has (default 3; 0 for none).
func WithNodes(n int) Option {
	return func(o *options) { o.defaultPool().Nodes = n }
}

// WithNodeResources sets the capacity of each node of the default pool: cpu and memory as
// quantities ("4", "8Gi") and the number of pods.
func WithNodeResources(cpu, memory string, pods int) Option {
	return func(o *options) {
		p := o.defaultPool()
		p.CPU, p.Memory, p.Pods = cpu, memory, pods
	}
}

// WithNodeLabels adds labels to every node of the default pool.
func WithNodeLabels(labels map[string]string) Option {
	return func(o *options) { o.defaultPool().Labels = labels }
}

// WithNodeTaints taints every node of the default pool.
func WithNodeTaints(taints ...corev1.Taint) Option {
	return func(o *options) { o.defaultPool().Taints = taints }
}

// WithNodePool adds a pool of simulated nodes next to the default one.
func WithNodePool(p NodePool) Option {
	return func(o *options) { o.pools = append(o.pools, p) }
}

// WithControllers picks the controller manager's controllers, as its --controllers flag does:
// "*" for all (the default), "name" to add one, "-name" to leave one out. No names runs no
// controller manager at all.
func WithControllers(names ...string) Option {
	return func(o *options) { o.controllers = names }
}

// WithNodeMonitorGracePeriod sets how long a node may go without renewing its Lease before the
// node lifecycle controller marks it NotReady (default 40s, as upstream). Simulated nodes renew
// four times per period.
func WithNodeMonitorGracePeriod(d time.Duration) Option {
	return func(o *options) { o.gracePeriod = d }
}

// WithJobDuration sets how long a pod with restartPolicy Never or OnFailure runs on a simulated
// node before it succeeds (default 1s).
func WithJobDuration(d time.Duration) Option {
	return func(o *options) { o.jobDuration = d }
}

// WithClientRate sets the client-side rate limit of the controller manager and of the clients
// Config and Client return (default 1000 requests/s, burst 2000).
func WithClientRate(qps float32, burst int) Option {
	return func(o *options) { o.qps, o.burst = qps, burst }
}

// WithLogger sends the components' logs to l (default: warnings and errors to stderr).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// Quiet discards the components' logs.
func Quiet() Option {
	return WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func (o *options) defaultPool() *NodePool {
	for i := range o.pools {
		if o.pools[i].Name == DefaultPool {
			return &o.pools[i]
		}
	}
	o.pools = append([]NodePool{{Name: DefaultPool}}, o.pools...)
	return &o.pools[0]
}

// validate checks the options before anything starts.
func (o *options) validate() error {
	seen := map[string]bool{}
	for _, p := range o.pools {
		switch {
		case p.Nodes < 0:
			return fmt.Errorf("node pool %q: %d nodes", p.Name, p.Nodes)
		case seen[p.Name]:
			return fmt.Errorf("node pool %q given twice", p.Name)
		}
		seen[p.Name] = true
		for _, q := range []string{p.CPU, p.Memory} {
			if _, err := quantity(q); err != nil {
				return fmt.Errorf("node pool %q: %q: %w", p.Name, q, err)
			}
		}
	}
	if o.gracePeriod <= 0 || o.jobDuration <= 0 {
		return errors.New("node monitor grace period and job duration must be positive")
	}
	if len(o.controllers) > 0 {
		return o.controllerManager("").Validate()
	}
	return nil
}

// runs reports whether the controller manager runs the named controller.
func (o *options) runs(controller string) bool {
	on := false
	for _, n := range o.controllers {
		if n == "-"+controller {
			return false
		}
		on = on || n == controller || n == "*"
	}
	return on
}

// quantity parses s, or returns the zero Quantity (the simulator's default) for "".
func quantity(s string) (resource.Quantity, error) {
	if s == "" {
		return resource.Quantity{}, nil
	}
	return resource.ParseQuantity(s)
}
