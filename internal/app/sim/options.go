// Package sim wires `klite sim`: simulated nodes registered against any klite or Kubernetes API
// server through a kubeconfig.
package sim

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/klite/klite/internal/sim"
)

// Options are `klite sim`'s flags.
type Options struct {
	Kubeconfig  string
	Nodes       int
	NamePrefix  string
	CPU         string
	Memory      string
	Pods        int
	Labels      []string
	Taints      []string
	JobDuration time.Duration
	QPS         float32
	Burst       int

	// Logger receives the simulator's logs (not a flag; default slog.Default()).
	Logger *slog.Logger
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{Nodes: 1, NamePrefix: "sim", CPU: "32", Memory: "256Gi", Pods: 110, JobDuration: time.Second, QPS: 1000, Burst: 2000}
}

// AddFlags registers the flags on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Path to a kubeconfig (default: $KUBECONFIG, then the in-cluster config)")
	fs.IntVar(&o.Nodes, "nodes", o.Nodes, "Number of simulated nodes")
	fs.StringVar(&o.NamePrefix, "name-prefix", o.NamePrefix, "Nodes are named PREFIX-0, PREFIX-1, ...")
	fs.StringVar(&o.CPU, "cpu", o.CPU, "CPU capacity of each node")
	fs.StringVar(&o.Memory, "memory", o.Memory, "Memory capacity of each node")
	fs.IntVar(&o.Pods, "pods", o.Pods, "Pod capacity of each node")
	fs.StringSliceVar(&o.Labels, "labels", o.Labels, "Node labels, k=v,...")
	fs.StringSliceVar(&o.Taints, "taints", o.Taints, "Node taints, k=v:Effect,...")
	fs.DurationVar(&o.JobDuration, "job-duration", o.JobDuration, "Pods with restartPolicy Never/OnFailure succeed after this long")
	fs.Float32Var(&o.QPS, "kube-api-qps", o.QPS, "Client-side rate limit (requests per second)")
	fs.IntVar(&o.Burst, "kube-api-burst", o.Burst, "Client-side burst")
}

// Validate checks the options.
func (o *Options) Validate() error {
	_, err := o.simConfig()
	return err
}

// simConfig turns the flags into a sim.Config without a client.
func (o *Options) simConfig() (sim.Config, error) {
	c := sim.Config{Nodes: o.Nodes, NamePrefix: o.NamePrefix, Pods: o.Pods, JobDuration: o.JobDuration}
	if o.Nodes < 0 {
		return c, fmt.Errorf("--nodes %d is negative", o.Nodes)
	}
	var err error
	if c.CPU, err = resource.ParseQuantity(o.CPU); err != nil {
		return c, fmt.Errorf("--cpu: %w", err)
	}
	if c.Memory, err = resource.ParseQuantity(o.Memory); err != nil {
		return c, fmt.Errorf("--memory: %w", err)
	}
	if c.Taints, err = sim.ParseTaints(o.Taints); err != nil {
		return c, fmt.Errorf("--taints: %w", err)
	}
	c.Labels = map[string]string{}
	for _, l := range o.Labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return c, fmt.Errorf("--labels: %q is not k=v", l)
		}
		c.Labels[k] = v
	}
	return c, nil
}
