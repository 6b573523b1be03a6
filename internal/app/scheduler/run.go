package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/klite/klite/internal/scheduler"
	"github.com/klite/klite/internal/scheduler/framework"
	"github.com/klite/klite/internal/scheduler/plugins"
)

// ErrLostLeadership is returned by Run when another instance took the Lease over.
var ErrLostLeadership = errors.New("scheduler lost its leader lease")

// Run schedules pods until ctx is cancelled. With leader election it waits as a hot standby
// until it holds the Lease, and returns ErrLostLeadership if it loses it.
func Run(ctx context.Context, cfg *rest.Config, o Options) error {
	profiles, err := complete(&o)
	if err != nil {
		return err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = o.QPS, o.Burst
	cfg.UserAgent = "klite-scheduler"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	eventClient, err := kubernetes.NewForConfig(cfg) // its own rate limit, as upstream
	if err != nil {
		return err
	}
	sc := scheduler.Config{
		Client: client, EventClient: eventClient, Profiles: profiles, Logger: o.Logger,
		InitialBackoff: o.PodInitialBackoff, MaxBackoff: o.PodMaxBackoff,
	}
	if o.Informers != nil {
		sc.Informers = o.Informers.View()
	}
	s, err := scheduler.New(ctx, sc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	if o.Address != "" {
		srv, err := serve(o.Address, s, o.Logger)
		if err != nil {
			return err
		}
		wg.Go(func() {
			<-ctx.Done()
			_ = srv.Close()
		})
	}
	if !o.LeaderElect {
		return s.Start(ctx)
	}
	return lead(ctx, client, o, s)
}

// complete validates o, applies the config file and returns the profiles.
func complete(o *Options) ([]framework.Profile, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	var profiles []framework.Profile
	if o.Config != "" {
		var err error
		if profiles, err = loadConfigFile(o.Config, o); err != nil {
			return nil, err
		}
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if profiles == nil {
		p := plugins.DefaultProfile(o.SchedulerName)
		p.PercentageOfNodesToScore = o.PercentageOfNodesToScore
		profiles = []framework.Profile{p}
	}
	if o.Identity == "" {
		host, _ := os.Hostname()
		o.Identity = host + "_" + string(uuid.NewUUID())
	}
	return profiles, nil
}

// lead runs the scheduler only while holding the Lease. It returns after the scheduler has
// stopped (client-go starts OnStartedLeading on its own goroutine and does not wait for it).
func lead(ctx context.Context, client kubernetes.Interface, o Options, s *scheduler.Scheduler) error {
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metaOf(o.ResourceNamespace, o.ResourceName),
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: o.Identity},
	}
	var (
		mu      sync.Mutex
		running chan struct{}
		stopped bool
		runErr  error
	)
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: lock, ReleaseOnCancel: !o.keepLeaseOnExit, Name: o.ResourceName,
		LeaseDuration: o.LeaseDuration, RenewDeadline: o.RenewDeadline, RetryPeriod: o.RetryPeriod,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				mu.Lock()
				if stopped {
					mu.Unlock()
					return
				}
				done := make(chan struct{})
				running = done
				mu.Unlock()
				defer close(done)
				o.Logger.Info("became leader, scheduling", "identity", o.Identity, "lease", o.ResourceNamespace+"/"+o.ResourceName)
				err := s.Start(ctx)
				mu.Lock()
				runErr = err
				mu.Unlock()
			},
			OnStoppedLeading: func() { o.Logger.Info("stopped leading", "identity", o.Identity) },
		},
	})
	if err != nil {
		return err
	}
	le.Run(ctx)
	mu.Lock()
	stopped = true
	done := running
	mu.Unlock()
	if done != nil {
		<-done
	}
	mu.Lock()
	defer mu.Unlock()
	if runErr != nil || ctx.Err() != nil {
		return runErr
	}
	return ErrLostLeadership
}

// serve answers /healthz and /explain/NAMESPACE/POD on addr.
func serve(addr string, s *scheduler.Scheduler, logger *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("GET /explain/{namespace}/{name}", func(w http.ResponseWriter, r *http.Request) {
		dec, ok := s.Explain(r.PathValue("namespace"), r.PathValue("name"))
		if !ok {
			http.Error(w, "no decision recorded for this pod (not pending here, or another instance is the leader)", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(dec)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("explain endpoint stopped", "err", err)
		}
	}()
	logger.Info("serving health and explanations", "address", "http://"+ln.Addr().String())
	return srv, nil
}

// splitKey parses NAMESPACE/POD (a bare POD means the default namespace).
func splitKey(key string) (string, string) {
	if ns, name, ok := strings.Cut(key, "/"); ok {
		return ns, name
	}
	return "default", key
}

func metaOf(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: namespace, Name: name}
}
