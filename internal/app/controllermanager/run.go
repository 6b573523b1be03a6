package controllermanager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/klite/klite/internal/informer"
)

// Command is `klite controller-manager`.
func Command() *cobra.Command {
	opts := NewOptions()
	cmd := &cobra.Command{
		Use:   "controller-manager",
		Short: "Run the controller manager (workload, namespace and garbage-collection controllers)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Validate(); err != nil {
				return err
			}
			cfg, err := clientcmd.BuildConfigFromFlags("", opts.Kubeconfig)
			if err != nil {
				return fmt.Errorf("kubeconfig: %w", err)
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return Run(ctx, cfg, opts)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// Run runs the chosen controllers until ctx is cancelled — with --leader-elect only while this
// instance holds the Lease, campaigning again if it loses it — and returns after every
// goroutine it started has exited.
func Run(ctx context.Context, cfg *rest.Config, opts *Options) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "controller-manager")
	if opts.RouteKlog {
		klog.SetSlogLogger(log)
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.UserAgent == "" {
		cfg.UserAgent = "klite-controller-manager"
	}
	if opts.KubeAPIQPS > 0 {
		cfg.QPS, cfg.Burst = opts.KubeAPIQPS, opts.KubeAPIBurst
	}
	if cfg.ContentType == "" {
		// Protobuf for the typed clients, as upstream's components; the dynamic client (namespace
		// deletion) picks JSON itself, the metadata client (garbage collector) its own media types.
		cfg.ContentType = "application/vnd.kubernetes.protobuf"
		cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	}
	if !opts.LeaderElect {
		return runControllers(ctx, cfg, opts, log)
	}
	for {
		if err := lead(ctx, cfg, opts, log); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		log.Warn("lost leadership, campaigning again")
	}
}

// lead campaigns for the Lease and runs the controllers while holding it. It returns when ctx
// is cancelled or leadership is lost, after the controllers have stopped.
func lead(ctx context.Context, cfg *rest.Config, opts *Options, log *slog.Logger) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	id := opts.Identity
	if id == "" {
		host, _ := os.Hostname()
		id = host + "_" + uuid.NewString()
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: opts.LeaderElectNamespace, Name: opts.LeaderElectResourceName},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	acquired := make(chan context.Context, 1)
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: lock, LeaseDuration: opts.LeaderElectLeaseDuration, RenewDeadline: opts.LeaderElectRenewDeadline,
		RetryPeriod: opts.LeaderElectRetryPeriod, ReleaseOnCancel: !opts.keepLeaseOnStop, Name: opts.LeaderElectResourceName,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(lctx context.Context) { acquired <- lctx },
			OnStoppedLeading: func() {},
		},
	})
	if err != nil {
		return err
	}
	leCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	leDone := make(chan struct{})
	go func() {
		defer close(leDone)
		le.Run(leCtx)
	}()
	select {
	case <-leDone:
		return nil
	case lctx := <-acquired:
		log.Info("became leader", "identity", id)
		runErr := runControllers(lctx, cfg, opts, log)
		cancel()
		<-leDone
		return runErr
	}
}

// runControllers builds the chosen controllers on shared informers and runs them until ctx is
// cancelled, then waits for all of them, the informers and the event broadcaster.
func runControllers(ctx context.Context, cfg *rest.Config, opts *Options, log *slog.Logger) error {
	cc, broadcaster, err := newContext(cfg, opts, log)
	if err != nil {
		return err
	}
	defer broadcaster.Shutdown()
	names, _ := opts.enabled()
	reg := registry()
	var loops []starter
	var running []string
	for _, n := range names {
		s, err := reg[n](cc)
		if err != nil {
			return fmt.Errorf("controller %s: %w", n, err)
		}
		if s != nil {
			loops = append(loops, s)
			running = append(running, n)
		}
	}
	names = running
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(loops))
	for i, s := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Start(ctx); err != nil {
				errs[i] = fmt.Errorf("%s: %w", names[i], err)
				cancel()
			}
		}()
	}
	cc.factory.Start(ctx.Done())
	log.Info("controllers started", "controllers", names)
	<-ctx.Done()
	wg.Wait()
	cc.factory.Shutdown()
	return errors.Join(errs...)
}

func newContext(cfg *rest.Config, opts *Options, log *slog.Logger) (*controllerContext, record.EventBroadcaster, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	var rootCA []byte
	if opts.RootCAFile != "" {
		if rootCA, err = os.ReadFile(opts.RootCAFile); err != nil {
			return nil, nil, fmt.Errorf("--root-ca-file: %w", err)
		}
	} else if rootCA = cfg.TLSClientConfig.CAData; len(rootCA) == 0 && cfg.TLSClientConfig.CAFile != "" {
		if rootCA, err = os.ReadFile(cfg.TLSClientConfig.CAFile); err != nil {
			return nil, nil, fmt.Errorf("CA file of the kubeconfig: %w", err)
		}
	}
	factory := informers.SharedInformerFactory(informer.NewFactory(client))
	if opts.Informers != nil {
		factory = opts.Informers.View()
	}
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	return &controllerContext{
		opts: opts, client: client, dynamic: dyn, metadata: meta, discovery: disc, logger: log, rootCA: rootCA,
		factory: factory,
		recorder: func(component string) record.EventRecorder {
			return b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component})
		},
	}, b, nil
}
