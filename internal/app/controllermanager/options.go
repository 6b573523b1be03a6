// Package controllermanager wires klite's controller manager: flags, the choice of controllers,
// leader election on the kube-system/kube-controller-manager Lease, shared informers, events,
// and the lifetime of every control loop. It runs on its own (`klite controller-manager`) or
// inside `klite server` through Run.
package controllermanager

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/klite/klite/internal/informer"

	"github.com/spf13/pflag"
)

// Options are the controller manager's flags (named as kube-controller-manager's).
type Options struct {
	Kubeconfig  string
	Controllers []string

	LeaderElect              bool
	LeaderElectLeaseDuration time.Duration
	LeaderElectRenewDeadline time.Duration
	LeaderElectRetryPeriod   time.Duration
	LeaderElectResourceName  string
	LeaderElectNamespace     string

	NodeMonitorGracePeriod time.Duration
	NodeMonitorPeriod      time.Duration
	ClusterCIDR            string
	NodeCIDRMaskSize       int
	AllocateNodeCIDRs      bool
	RootCAFile             string
	LocalPathDir           string

	ConcurrentDeploymentSyncs int
	ConcurrentReplicaSetSyncs int
	ConcurrentGCSyncs         int
	ConcurrentNamespaceSyncs  int
	// KubeAPIQPS and KubeAPIBurst rate-limit the controllers' client (client-go's own default of
	// 5/s would make a 10,000-replica Deployment take half an hour).
	KubeAPIQPS   float32
	KubeAPIBurst int

	// Logger receives the controllers' logs (and client-go's); slog.Default when nil.
	Logger *slog.Logger
	// RouteKlog sends client-go's klog output to Logger. klog's logger is process-global and
	// may only be set before other goroutines log, so a process running several components
	// (klite server) routes it once itself and sets this false. Default true.
	RouteKlog bool
	// Identity names this instance in the leader Lease (default: hostname + random suffix).
	Identity string
	// Informers, when set, are shared with the process's other components (klite server):
	// each term of leadership takes a view of them instead of a factory of its own.
	Informers *informer.Shared

	// keepLeaseOnStop makes a stopped leader leave its Lease to expire, as a killed process
	// would (tests of the handover).
	keepLeaseOnStop bool
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		Controllers:               []string{"*"},
		RouteKlog:                 true,
		LeaderElect:               true,
		LeaderElectLeaseDuration:  15 * time.Second,
		LeaderElectRenewDeadline:  10 * time.Second,
		LeaderElectRetryPeriod:    2 * time.Second,
		LeaderElectResourceName:   "kube-controller-manager",
		LeaderElectNamespace:      "kube-system",
		NodeMonitorGracePeriod:    40 * time.Second,
		NodeMonitorPeriod:         5 * time.Second,
		ClusterCIDR:               "10.42.0.0/16",
		NodeCIDRMaskSize:          24,
		AllocateNodeCIDRs:         true,
		LocalPathDir:              "/var/lib/klite/storage",
		ConcurrentDeploymentSyncs: 5,
		ConcurrentReplicaSetSyncs: 5,
		ConcurrentGCSyncs:         20,
		ConcurrentNamespaceSyncs:  10,
		KubeAPIQPS:                500,
		KubeAPIBurst:              1000,
	}
}

// AddFlags registers the flags on fs. klite server registers them too; --kubeconfig is skipped
// when fs already has a flag of that name.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	if fs.Lookup("kubeconfig") == nil {
		fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Path to a kubeconfig for the API server (in-cluster config when empty)")
	}
	fs.StringSliceVar(&o.Controllers, "controllers", o.Controllers, "Controllers to run: '*' for all, 'foo' to add one, '-foo' to leave one out. Known: "+strings.Join(KnownControllers(), ", "))
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "Run only while holding the leader Lease, so several instances can stand by")
	fs.DurationVar(&o.LeaderElectLeaseDuration, "leader-elect-lease-duration", o.LeaderElectLeaseDuration, "How long standbys wait after the last renewal before taking over")
	fs.DurationVar(&o.LeaderElectRenewDeadline, "leader-elect-renew-deadline", o.LeaderElectRenewDeadline, "How long the leader retries renewing before giving up")
	fs.DurationVar(&o.LeaderElectRetryPeriod, "leader-elect-retry-period", o.LeaderElectRetryPeriod, "Interval between attempts to acquire or renew")
	fs.StringVar(&o.LeaderElectResourceName, "leader-elect-resource-name", o.LeaderElectResourceName, "Name of the leader Lease")
	fs.StringVar(&o.LeaderElectNamespace, "leader-elect-resource-namespace", o.LeaderElectNamespace, "Namespace of the leader Lease")
	fs.DurationVar(&o.NodeMonitorGracePeriod, "node-monitor-grace-period", o.NodeMonitorGracePeriod, "How long a node may go without renewing its Lease before it is marked unhealthy")
	fs.DurationVar(&o.NodeMonitorPeriod, "node-monitor-period", o.NodeMonitorPeriod, "How often node health is checked")
	fs.StringVar(&o.ClusterCIDR, "cluster-cidr", o.ClusterCIDR, "CIDR range of pod IPs; each node gets one subnet of it")
	fs.IntVar(&o.NodeCIDRMaskSize, "node-cidr-mask-size", o.NodeCIDRMaskSize, "Prefix length of each node's pod subnet")
	fs.BoolVar(&o.AllocateNodeCIDRs, "allocate-node-cidrs", o.AllocateNodeCIDRs, "Allocate each node a podCIDR from --cluster-cidr")
	fs.StringVar(&o.RootCAFile, "root-ca-file", o.RootCAFile, "CA bundle published as the kube-root-ca.crt ConfigMap in every namespace")
	fs.StringVar(&o.LocalPathDir, "local-path-dir", o.LocalPathDir, "Directory on each node under which the local-path provisioner creates volumes")
	fs.IntVar(&o.ConcurrentDeploymentSyncs, "concurrent-deployment-syncs", o.ConcurrentDeploymentSyncs, "Deployments synced in parallel")
	fs.IntVar(&o.ConcurrentReplicaSetSyncs, "concurrent-replicaset-syncs", o.ConcurrentReplicaSetSyncs, "ReplicaSets (and ReplicationControllers) synced in parallel")
	fs.IntVar(&o.ConcurrentGCSyncs, "concurrent-gc-syncs", o.ConcurrentGCSyncs, "Garbage collector workers")
	fs.IntVar(&o.ConcurrentNamespaceSyncs, "concurrent-namespace-syncs", o.ConcurrentNamespaceSyncs, "Namespaces emptied in parallel")
	if fs.Lookup("kube-api-qps") == nil { // klite server: the scheduler's flags of these names win
		fs.Float32Var(&o.KubeAPIQPS, "kube-api-qps", o.KubeAPIQPS, "Client-side rate limit towards the API server (requests per second)")
		fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", o.KubeAPIBurst, "Client-side burst towards the API server")
	}
}

// Validate checks the options.
func (o *Options) Validate() error {
	var errs []error
	if _, err := o.enabled(); err != nil {
		errs = append(errs, err)
	}
	if _, cidr, err := net.ParseCIDR(o.ClusterCIDR); err != nil {
		errs = append(errs, fmt.Errorf("--cluster-cidr: %w", err))
	} else if ones, bits := cidr.Mask.Size(); o.NodeCIDRMaskSize < ones || o.NodeCIDRMaskSize > bits {
		errs = append(errs, fmt.Errorf("--node-cidr-mask-size %d does not fit in --cluster-cidr %s", o.NodeCIDRMaskSize, o.ClusterCIDR))
	}
	if o.NodeMonitorGracePeriod <= 0 || o.NodeMonitorPeriod <= 0 {
		errs = append(errs, errors.New("--node-monitor-grace-period and --node-monitor-period must be positive"))
	}
	if o.LeaderElect && !(o.LeaderElectLeaseDuration > o.LeaderElectRenewDeadline && o.LeaderElectRenewDeadline > o.LeaderElectRetryPeriod && o.LeaderElectRetryPeriod > 0) {
		errs = append(errs, errors.New("leader election wants lease duration > renew deadline > retry period > 0"))
	}
	return errors.Join(errs...)
}

// enabled resolves --controllers against the known names.
func (o *Options) enabled() ([]string, error) {
	known := KnownControllers()
	on := map[string]bool{}
	for _, c := range o.Controllers {
		c = strings.TrimSpace(c)
		switch {
		case c == "*":
			for _, k := range known {
				if _, off := o.explicitlyOff()[k]; !off {
					on[k] = true
				}
			}
		case strings.HasPrefix(c, "-"):
			if !slices.Contains(known, c[1:]) {
				return nil, fmt.Errorf("--controllers: unknown controller %q", c[1:])
			}
		case slices.Contains(known, c):
			on[c] = true
		default:
			return nil, fmt.Errorf("--controllers: unknown controller %q (known: %s)", c, strings.Join(known, ", "))
		}
	}
	var out []string
	for _, k := range known {
		if on[k] {
			out = append(out, k)
		}
	}
	return out, nil
}

func (o *Options) explicitlyOff() map[string]struct{} {
	off := map[string]struct{}{}
	for _, c := range o.Controllers {
		if strings.HasPrefix(c, "-") {
			off[c[1:]] = struct{}{}
		}
	}
	return off
}
