package server

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/klite/klite/internal/app/apiserver"
	"github.com/klite/klite/internal/app/controllermanager"
	appkubelet "github.com/klite/klite/internal/app/kubelet"
	appscheduler "github.com/klite/klite/internal/app/scheduler"
	"github.com/klite/klite/internal/informer"
)

// components runs the control-plane components in-process once the API server serves; each
// talks to it through client-go with the admin kubeconfig, exactly as it would from elsewhere.
type components struct {
	o      *Options
	logger *slog.Logger
	wg     sync.WaitGroup

	mu      sync.Mutex // start and wait may race when the server stops as it becomes ready
	stopped bool
	shared  *informer.Shared // the scheduler's and controller manager's informers
}

func (c *components) enabled(name string) bool { return !slices.Contains(c.o.Disable, name) }

// start launches every enabled component; stop them by cancelling ctx and calling wait.
func (c *components) start(ctx context.Context, ready apiserver.Ready) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", ready.Kubeconfig)
	if err != nil {
		c.logger.Error("components: load admin kubeconfig", "err", err)
		return
	}
	if err := c.share(ctx, cfg); err != nil {
		c.logger.Error("components: shared informers", "err", err)
		return
	}
	if c.enabled("scheduler") {
		o := *c.o.Scheduler
		o.Informers = c.shared
		o.Logger = c.logger.With("component", "scheduler")
		c.run(ctx, "scheduler", func(ctx context.Context) error { return appscheduler.Run(ctx, cfg, o) })
	}
	if c.enabled("controller-manager") {
		o := *c.o.ControllerManager
		o.Logger = c.logger.With("component", "controller-manager")
		o.RouteKlog = false // klog is routed once for the whole process
		o.Informers = c.shared
		if o.RootCAFile == "" {
			o.RootCAFile = filepath.Join(c.o.API.DataDir, "server", "tls", "ca.crt")
		}
		if o.LocalPathDir == "" {
			o.LocalPathDir = filepath.Join(c.o.API.DataDir, "storage")
		}
		c.run(ctx, "controller-manager", func(ctx context.Context) error { return controllermanager.Run(ctx, cfg, &o) })
	}
	if !c.o.DisableAgent && c.enabled("kubelet") {
		o := *c.o.Kubelet
		o.DataDir = c.o.API.DataDir
		o.ClusterDNS = []string{"10.43.0.10"}
		if err := secureLocalKubelet(&o, filepath.Join(c.o.API.DataDir, "server", "tls")); err != nil {
			c.logger.Error("components: kubelet serving certificate", "err", err)
			return
		}
		c.run(ctx, "kubelet", func(ctx context.Context) error { return appkubelet.Run(ctx, cfg, &o) })
	}
}

func (c *components) run(ctx context.Context, name string, fn func(context.Context) error) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			c.logger.Error("component stopped", "component", name, "err", err)
		}
	}()
}

// share makes the informers the scheduler and the controller manager share, so that the
// process caches each object once.
func (c *components) share(ctx context.Context, cfg *rest.Config) (err error) {
	c.shared, err = informer.NewSharedForConfig(ctx, cfg, "klite-server-informers")
	return err
}

// wait returns once every component and the shared informers have stopped (after ctx ended).
func (c *components) wait() {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	c.wg.Wait()
	if c.shared != nil {
		c.shared.Shutdown()
	}
}
