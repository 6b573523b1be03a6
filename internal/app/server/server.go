// Package server wires `klite server`: a whole cluster on this machine — embedded etcd (unless
// --etcd-servers names an external cluster), the API server and, as they are built, the
// scheduler, controller manager and local agent.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"github.com/klite/klite/internal/app/apiserver"
	"github.com/klite/klite/internal/app/controllermanager"
	appkubelet "github.com/klite/klite/internal/app/kubelet"
	appscheduler "github.com/klite/klite/internal/app/scheduler"
	"github.com/klite/klite/internal/storage/etcd"
)

// Components that --disable can switch off.
var Components = []string{"scheduler", "controller-manager", "kubelet", "proxy"}

// Options are `klite server`'s flags.
type Options struct {
	API               *apiserver.Options
	Scheduler         *appscheduler.Options
	ControllerManager *controllermanager.Options
	Kubelet           *appkubelet.Options
	EtcdClientPort    int
	EtcdPeerPort      int
	DisableAgent      bool
	Disable           []string
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	cm := controllermanager.NewOptions()
	cm.LocalPathDir = "" // under the data dir unless set
	return &Options{API: apiserver.NewOptions(), Scheduler: appscheduler.NewOptions(), ControllerManager: cm, Kubelet: appkubelet.NewOptions(), EtcdClientPort: 2379, EtcdPeerPort: 2380}
}

// AddFlags registers the flags on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.API.AddFlags(fs)
	fs.IntVar(&o.EtcdClientPort, "etcd-client-port", o.EtcdClientPort, "Embedded etcd client port on 127.0.0.1 (0 picks a free port)")
	fs.IntVar(&o.EtcdPeerPort, "etcd-peer-port", o.EtcdPeerPort, "Embedded etcd peer port on 127.0.0.1 (0 picks a free port)")
	fs.BoolVar(&o.DisableAgent, "disable-agent", o.DisableAgent, "Do not run the local agent (kubelet and proxy)")
	fs.StringSliceVar(&o.Disable, "disable", o.Disable, "Components not to run: "+strings.Join(Components, ", "))
	fs.StringVar(&o.Scheduler.Address, "scheduler-bind-address", o.Scheduler.Address, "HOST:PORT of the scheduler's /healthz and /explain endpoint (empty disables)")
	fs.StringVar(&o.ControllerManager.ClusterCIDR, "cluster-cidr", o.ControllerManager.ClusterCIDR, "CIDR of pod IPs; each node gets a /24 of it")
	fs.DurationVar(&o.ControllerManager.NodeMonitorGracePeriod, "node-monitor-grace-period", o.ControllerManager.NodeMonitorGracePeriod, "How long a node may go without renewing its Lease before it is marked NotReady")
	fs.StringVar(&o.Kubelet.HostnameOverride, "node-name", o.Kubelet.HostnameOverride, "Name of the local agent's node (default: the hostname)")
	fs.StringVar(&o.Kubelet.NodeIP, "node-ip", o.Kubelet.NodeIP, "IP address the local agent's node reports")
	o.Kubelet.AddEvictionFlags(fs)
	fs.StringSliceVar(&o.ControllerManager.Controllers, "controllers", o.ControllerManager.Controllers, "Controllers to run ('*' for all, 'foo' to enable, '-foo' to disable)")
}

// Validate checks the options.
func (o *Options) Validate() error {
	for _, d := range o.Disable {
		if !slices.Contains(Components, d) {
			return fmt.Errorf("--disable: unknown component %q (known: %s)", d, strings.Join(Components, ", "))
		}
	}
	return o.API.Validate()
}

// Run starts the cluster and blocks until ctx is cancelled; it returns after every component has
// stopped, etcd last.
func Run(ctx context.Context, o *Options, logger *slog.Logger, onReady func(apiserver.Ready)) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if len(o.API.EtcdServers) == 0 {
		e, err := etcd.StartEmbedded(ctx, etcd.EmbedConfig{
			Dir: filepath.Join(o.API.DataDir, "etcd"), ClientPort: o.EtcdClientPort, PeerPort: o.EtcdPeerPort,
		})
		if err != nil {
			return err
		}
		defer e.Close()
		logger.Info("embedded etcd ready", "url", e.ClientURL)
		api := *o.API
		api.EtcdServers = []string{e.ClientURL}
		return runWithEtcd(ctx, o, &api, logger, onReady, e.Err())
	}
	return runWithEtcd(ctx, o, o.API, logger, onReady, nil)
}

// runWithEtcd runs the API server and, once it serves, the components; on shutdown the
// components stop first, then the API server.
func runWithEtcd(ctx context.Context, o *Options, api *apiserver.Options, logger *slog.Logger, onReady func(apiserver.Ready), etcdErr <-chan error) error {
	klog.SetSlogLogger(logger)
	apiCtx, stopAPI := context.WithCancel(context.WithoutCancel(ctx))
	defer stopAPI()
	compCtx, stopComponents := context.WithCancel(ctx)
	defer stopComponents()
	comps := &components{o: o, logger: logger}
	ready := func(r apiserver.Ready) {
		comps.start(compCtx, r)
		if onReady != nil {
			onReady(r)
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- apiserver.Run(apiCtx, api, logger, ready) }()
	var err error
	apiDone := false
	select {
	case err = <-errc:
		apiDone = true
	case <-ctx.Done():
	case e := <-etcdErr:
		err = fmt.Errorf("embedded etcd failed: %w", e)
	}
	stopComponents()
	comps.wait()
	stopAPI()
	if !apiDone {
		if apiErr := <-errc; err == nil {
			err = apiErr
		}
	}
	return err
}
