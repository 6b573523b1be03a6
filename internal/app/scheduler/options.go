// Package scheduler wires `klite scheduler`: flags and the optional KubeSchedulerConfiguration
// file, leader election on a Lease, the scheduler itself, and an HTTP endpoint serving health
// and the scheduler's explanations (`klite scheduler explain NAMESPACE/POD`).
package scheduler

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/klite/klite/internal/informer"

	"github.com/spf13/pflag"
)

// Options are `klite scheduler`'s flags (upstream names where kube-scheduler has one).
type Options struct {
	Kubeconfig    string
	Config        string // KubeSchedulerConfiguration file
	SchedulerName string
	QPS           float32
	Burst         int
	// Address serves /healthz and /explain ("" or port 0 disables).
	Address string

	PercentageOfNodesToScore int32
	PodInitialBackoff        time.Duration
	PodMaxBackoff            time.Duration

	LeaderElect       bool
	LeaseDuration     time.Duration
	RenewDeadline     time.Duration
	RetryPeriod       time.Duration
	ResourceName      string
	ResourceNamespace string
	Identity          string

	// keepLeaseOnExit leaves the Lease held when Run ends, as a crashed process would (tests).
	keepLeaseOnExit bool

	// Logger receives the scheduler's logs (not a flag; default slog.Default()).
	Logger *slog.Logger
	// Informers, when set, are shared with the process's other components (klite server).
	Informers *informer.Shared
}

// NewOptions returns upstream's defaults.
func NewOptions() *Options {
	return &Options{
		SchedulerName: "default-scheduler", QPS: 200, Burst: 400, Address: "127.0.0.1:10251",
		PodInitialBackoff: time.Second, PodMaxBackoff: 10 * time.Second,
		LeaderElect: true, LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second,
		ResourceName: "kube-scheduler", ResourceNamespace: "kube-system",
	}
}

// AddFlags registers the flags on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Path to a kubeconfig (default: $KUBECONFIG, then in-cluster)")
	fs.StringVar(&o.Config, "config", o.Config, "KubeSchedulerConfiguration file (YAML); its settings override the flags")
	fs.StringVar(&o.SchedulerName, "scheduler-name", o.SchedulerName, "Serve pods whose spec.schedulerName is this (the default profile's name)")
	fs.Float32Var(&o.QPS, "kube-api-qps", o.QPS, "Client-side rate limit (requests per second)")
	fs.IntVar(&o.Burst, "kube-api-burst", o.Burst, "Client-side burst")
	fs.StringVar(&o.Address, "address", o.Address, "HOST:PORT serving /healthz and /explain/NAMESPACE/POD (empty disables)")
	fs.Int32Var(&o.PercentageOfNodesToScore, "percentage-of-nodes-to-score", o.PercentageOfNodesToScore, "Share of nodes to find feasible before scoring (0: adaptive, as upstream)")
	fs.DurationVar(&o.PodInitialBackoff, "pod-initial-backoff", o.PodInitialBackoff, "Initial retry backoff of a pod that failed")
	fs.DurationVar(&o.PodMaxBackoff, "pod-max-backoff", o.PodMaxBackoff, "Maximum retry backoff")
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "Run only while holding the leader Lease (hot standby otherwise)")
	fs.DurationVar(&o.LeaseDuration, "leader-elect-lease-duration", o.LeaseDuration, "How long a standby waits before taking an unrenewed lease")
	fs.DurationVar(&o.RenewDeadline, "leader-elect-renew-deadline", o.RenewDeadline, "How long the leader keeps retrying a renewal before giving up")
	fs.DurationVar(&o.RetryPeriod, "leader-elect-retry-period", o.RetryPeriod, "Interval between attempts to acquire or renew")
	fs.StringVar(&o.ResourceName, "leader-elect-resource-name", o.ResourceName, "Name of the leader Lease")
	fs.StringVar(&o.ResourceNamespace, "leader-elect-resource-namespace", o.ResourceNamespace, "Namespace of the leader Lease")
	fs.StringVar(&o.Identity, "leader-elect-identity", o.Identity, "Holder identity (default: hostname_random)")
}

// Validate checks the options.
func (o *Options) Validate() error {
	switch {
	case o.SchedulerName == "" && o.Config == "":
		return fmt.Errorf("--scheduler-name must not be empty")
	case o.PercentageOfNodesToScore < 0 || o.PercentageOfNodesToScore > 100:
		return fmt.Errorf("--percentage-of-nodes-to-score %d not in [0, 100]", o.PercentageOfNodesToScore)
	case o.LeaderElect && o.LeaseDuration <= o.RenewDeadline:
		return fmt.Errorf("--leader-elect-lease-duration must be greater than --leader-elect-renew-deadline")
	case o.LeaderElect && o.RenewDeadline <= o.RetryPeriod:
		return fmt.Errorf("--leader-elect-renew-deadline must be greater than --leader-elect-retry-period")
	case o.PodInitialBackoff <= 0 || o.PodMaxBackoff < o.PodInitialBackoff:
		return fmt.Errorf("--pod-initial-backoff must be positive and at most --pod-max-backoff")
	}
	return nil
}
