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

	"github.com/klite/klite/internal/app/apiserver"
	"github.com/klite/klite/internal/storage/etcd"
)

// Components that --disable can switch off.
var Components = []string{"scheduler", "controller-manager", "kubelet", "proxy"}

// Options are `klite server`'s flags.
type Options struct {
	API            *apiserver.Options
	EtcdClientPort int
	EtcdPeerPort   int
	DisableAgent   bool
	Disable        []string
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{API: apiserver.NewOptions(), EtcdClientPort: 2379, EtcdPeerPort: 2380}
}

// AddFlags registers the flags on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.API.AddFlags(fs)
	fs.IntVar(&o.EtcdClientPort, "etcd-client-port", o.EtcdClientPort, "Embedded etcd client port on 127.0.0.1 (0 picks a free port)")
	fs.IntVar(&o.EtcdPeerPort, "etcd-peer-port", o.EtcdPeerPort, "Embedded etcd peer port on 127.0.0.1 (0 picks a free port)")
	fs.BoolVar(&o.DisableAgent, "disable-agent", o.DisableAgent, "Do not run the local agent (kubelet and proxy)")
	fs.StringSliceVar(&o.Disable, "disable", o.Disable, "Components not to run: "+strings.Join(Components, ", "))
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
		return runWithEtcd(ctx, &api, logger, onReady, e.Err())
	}
	return runWithEtcd(ctx, o.API, logger, onReady, nil)
}

func runWithEtcd(ctx context.Context, api *apiserver.Options, logger *slog.Logger, onReady func(apiserver.Ready), etcdErr <-chan error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- apiserver.Run(ctx, api, logger, onReady) }()
	select {
	case err := <-errc:
		return err
	case err := <-etcdErr:
		cancel()
		<-errc
		return fmt.Errorf("embedded etcd failed: %w", err)
	}
}
