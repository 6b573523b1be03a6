package kubelet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/klog/v2"

	appruntime "github.com/klite/klite/internal/app/runtime"
	"github.com/klite/klite/internal/kubelet"
)

// Command returns `klite kubelet`.
func Command() *cobra.Command {
	o := NewOptions()
	cmd := &cobra.Command{
		Use:   "kubelet",
		Short: "Run the kubelet: register this node and run the pods bound to it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			klog.SetSlogLogger(logger)
			slog.SetDefault(logger)
			cfg, err := LoadKubeconfig(o.Kubeconfig)
			if err != nil {
				return err
			}
			return Run(cmd.Context(), cfg, o)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// LoadKubeconfig reads a kubeconfig (explicit path, $KUBECONFIG, in-cluster).
func LoadKubeconfig(path string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
}

// Run runs the node's runtime (unless external) and the kubelet until ctx
// is cancelled, and returns after both stopped. Containers keep running.
func Run(ctx context.Context, cfg *rest.Config, o *Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	o.complete()
	logger := slog.Default()
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "klite-kubelet"
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	var err error
	endpoint := o.ContainerRuntimeEndpoint
	if endpoint == "" {
		endpoint, err = startRuntime(ctx, &wg, o.Runtime, logger)
		if err != nil {
			return err
		}
	}
	conn, err := dialCRI(ctx, endpoint)
	if err != nil {
		return err
	}
	defer conn.Close()
	kcfg, err := kubeletConfig(o, conn, logger)
	if err != nil {
		return err
	}
	if err := kcfg.SetClients(cfg, o.Limits); err != nil {
		return err
	}
	k, err := kubelet.New(kcfg)
	if err != nil {
		return err
	}
	return k.Start(ctx)
}

// kubeletConfig turns the options into the kubelet's configuration, all
// but its API clients.
func kubeletConfig(o *Options, conn *grpc.ClientConn, logger *slog.Logger) (kubelet.Config, error) {
	name, err := o.NodeName()
	if err != nil {
		return kubelet.Config{}, err
	}
	reserved, _ := o.reserved()
	thresholds, err := kubelet.ParseThresholds(o.EvictionHard)
	if err != nil {
		return kubelet.Config{}, err
	}
	if thresholds == nil {
		thresholds = []kubelet.Threshold{} // none, not the defaults
	}
	addr := "-"
	if o.Port != 0 {
		addr = net.JoinHostPort(o.Address, strconv.Itoa(o.Port))
	}
	if err := os.MkdirAll(o.PodManifestPath, 0o755); err != nil {
		return kubelet.Config{}, err
	}
	return kubelet.Config{NodeName: name, NodeIP: o.NodeIP,
		Runtime: runtimeapi.NewRuntimeServiceClient(conn), Images: runtimeapi.NewImageServiceClient(conn),
		RootDir: o.RootDir, ManifestPath: o.PodManifestPath, MaxPods: o.MaxPods, SystemReserved: reserved,
		Labels: o.NodeLabels, Address: addr, TLSCertFile: o.TLSCertFile, TLSKeyFile: o.TLSPrivateKeyFile,
		ClientCAFile: o.ClientCAFile, StatusPeriod: o.NodeStatusUpdateFrequency,
		ClusterDNS: o.ClusterDNS, ClusterDomain: o.ClusterDomain, Logger: logger,
		EvictionHard: thresholds, EvictionPressureTransitionPeriod: o.EvictionPressureTransitionPeriod,
		ImageGCHighThresholdPercent: o.ImageGCHighThresholdPercent, ImageGCLowThresholdPercent: o.ImageGCLowThresholdPercent,
		ImageMinimumGCAge: o.ImageMinimumGCAge}, nil
}

// startRuntime serves klite's runtime on its socket in a goroutine of wg.
func startRuntime(ctx context.Context, wg *sync.WaitGroup, ro *appruntime.Options, logger *slog.Logger) (string, error) {
	if err := os.MkdirAll(dirOf(ro.Listen), 0o755); err != nil {
		return "", err
	}
	errc := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		errc <- appruntime.Run(ctx, ro, logger)
	}()
	// Wait for the socket (or an early failure).
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-errc:
			if err == nil {
				err = errors.New("runtime stopped")
			}
			return "", fmt.Errorf("container runtime: %w", err)
		default:
		}
		if c, err := net.Dial("unix", ro.Listen); err == nil {
			c.Close()
			return "unix://" + ro.Listen, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "", errors.New("container runtime did not start serving")
}

func dirOf(p string) string {
	if i := strings.LastIndex(p, "/"); i > 0 {
		return p[:i]
	}
	return "."
}

// dialCRI connects to a CRI endpoint (unix:///path or a bare path).
func dialCRI(_ context.Context, endpoint string) (*grpc.ClientConn, error) {
	if !strings.Contains(endpoint, "://") {
		endpoint = "unix://" + endpoint
	}
	return grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)))
}
