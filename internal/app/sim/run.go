package sim

import (
	"context"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/klite/klite/internal/sim"
)

// Command returns `klite sim`.
func Command() *cobra.Command {
	o := NewOptions()
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run simulated nodes (KWOK-style) for scale tests and benchmarks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			cfg, err := LoadConfig(o.Kubeconfig)
			if err != nil {
				return err
			}
			o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			klog.SetSlogLogger(o.Logger)
			return Run(cmd.Context(), cfg, *o)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// LoadConfig reads a kubeconfig: the path, else $KUBECONFIG, else the in-cluster config.
func LoadConfig(path string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
}

// Run keeps the simulated nodes alive until ctx is cancelled.
func Run(ctx context.Context, cfg *rest.Config, o Options) error {
	sc, err := o.simConfig()
	if err != nil {
		return err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = o.QPS, o.Burst
	cfg.UserAgent = "klite-sim"
	if sc.Client, err = kubernetes.NewForConfig(cfg); err != nil {
		return err
	}
	sc.Logger = o.Logger
	s, err := sim.New(sc)
	if err != nil {
		return err
	}
	return s.Start(ctx)
}
