package kubelet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Version is the kubelet version reported in the Node's nodeInfo.
const Version = "v1.37.2-klite"

// Config configures a Kubelet. Client, NodeName, Runtime, Images and
// RootDir are required; the rest have defaults.
type Config struct {
	Client kubernetes.Interface
	// EventClient posts events and HeartbeatClient renews the node's Lease
	// and posts its status (both default to Client). Upstream gives each its
	// own client so that neither waits behind the other's rate limit: a
	// burst of pod starts posts three events a pod, and must delay neither
	// the pods' status writes nor the node's heartbeat.
	EventClient, HeartbeatClient kubernetes.Interface
	NodeName                     string
	// NodeIP is the node's InternalIP; default the first non-loopback IPv4.
	NodeIP string
	// Runtime and Images are the CRI services.
	Runtime runtimeapi.RuntimeServiceClient
	Images  runtimeapi.ImageServiceClient
	// RootDir holds pods/<uid>/volumes and the pod logs.
	RootDir string
	// ManifestPath is the static pod directory ("" disables static pods).
	ManifestPath string
	// MaxPods is the node's pod capacity (default 110).
	MaxPods int
	// SystemReserved is subtracted from capacity to give allocatable.
	SystemReserved corev1.ResourceList
	// Labels are added to the Node's labels.
	Labels map[string]string
	// Address serves the kubelet API (default ":10250"; "-" disables it).
	Address string
	// TLSCertFile/TLSKeyFile serve it; a self-signed certificate otherwise.
	// ClientCAFile, when set, requires clients to present a certificate it signed.
	TLSCertFile, TLSKeyFile, ClientCAFile string
	// BackoffInitial and BackoffMax bound the restart back-off (10 s, 5 min).
	BackoffInitial, BackoffMax time.Duration
	// LeaseRenew (10 s) and StatusPeriod (1 min) pace the heartbeats.
	LeaseRenew, StatusPeriod time.Duration
	// ResyncPeriod is how often each pod worker re-checks its pod (1 s).
	ResyncPeriod time.Duration
	// ClusterDNS and ClusterDomain go into pods' resolv.conf.
	ClusterDNS    []string
	ClusterDomain string
	// EvictionHard are the hard eviction thresholds (nil: DefaultEvictionHard;
	// empty: none). EvictionMonitoringPeriod (10 s) paces stats sampling,
	// eviction and image GC checks; a pressure condition stays
	// EvictionPressureTransitionPeriod (5 min) after it was last observed.
	EvictionHard                     []Threshold
	EvictionMonitoringPeriod         time.Duration
	EvictionPressureTransitionPeriod time.Duration
	// Image GC: every ImageGCPeriod (5 min), when the image filesystem is at
	// least ImageGCHighThresholdPercent (85) full, unused images first seen
	// ImageMinimumGCAge (2 min) ago are removed, least recently used first,
	// until it is below ImageGCLowThresholdPercent (80). A high threshold of
	// 100 disables image GC.
	ImageGCHighThresholdPercent, ImageGCLowThresholdPercent int
	ImageMinimumGCAge, ImageGCPeriod                        time.Duration
	// Dial reaches pod IPs for httpGet and tcpSocket probes (default net.Dialer).
	Dial   func(ctx context.Context, network, addr string) (net.Conn, error)
	Logger *slog.Logger
}

// Kubelet runs one node's pods.
type Kubelet struct {
	cfg      Config
	log      *slog.Logger
	client   kubernetes.Interface
	events   kubernetes.Interface // Config.EventClient
	beat     kubernetes.Interface // Config.HeartbeatClient
	runtime  runtimeapi.RuntimeServiceClient
	images   runtimeapi.ImageServiceClient
	recorder record.EventRecorder
	rtName   string

	pods       corelisters.PodLister
	configMaps corelisters.ConfigMapLister
	secrets    corelisters.SecretLister
	services   corelisters.ServiceLister

	mu      sync.Mutex
	workers map[types.UID]*podWorker
	// retired is when the runtime last changed a pod no worker owns (its
	// worker exited, or housekeeping killed it); see retireLocked.
	retired map[types.UID]time.Time
	wg      sync.WaitGroup
	nodeIP  string
	tokens  map[string]cachedToken
	addr    string
	cache   *runtimeCache
	stopped bool // no new workers once Start is ending
	static  *staticPods
	ctx     context.Context
	started time.Time
	// Stats, eviction and image GC (stats.go, evictor.go, imagegc.go).
	rates    cpuRates
	pressure pressure
	imageGC  *imageGC
	// shutdown waits for the informers' goroutines.
	shutdown []func()
}

// New validates cfg, fills in defaults and returns a Kubelet.
func New(cfg Config) (*Kubelet, error) {
	if cfg.Client == nil || cfg.Runtime == nil || cfg.Images == nil {
		return nil, errors.New("kubelet: client, runtime and image service are required")
	}
	if cfg.NodeName == "" || cfg.RootDir == "" {
		return nil, errors.New("kubelet: node name and root dir are required")
	}
	setDefaults(&cfg)
	if err := validateGC(cfg); err != nil {
		return nil, err
	}
	k := &Kubelet{cfg: cfg, log: cfg.Logger.With("node", cfg.NodeName), client: cfg.Client,
		events: cfg.EventClient, beat: cfg.HeartbeatClient, runtime: cfg.Runtime, images: cfg.Images,
		workers: map[types.UID]*podWorker{}, retired: map[types.UID]time.Time{}, tokens: map[string]cachedToken{}}
	k.cache = newRuntimeCache(cfg.Runtime)
	k.started = time.Now()
	k.imageGC = k.newImageGC()
	k.nodeIP = cfg.NodeIP
	if k.nodeIP == "" {
		k.nodeIP = defaultNodeIP()
	}
	return k, nil
}

func setDefaults(cfg *Config) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.EventClient == nil {
		cfg.EventClient = cfg.Client
	}
	if cfg.HeartbeatClient == nil {
		cfg.HeartbeatClient = cfg.Client
	}
	if cfg.MaxPods == 0 {
		cfg.MaxPods = 110
	}
	if cfg.Address == "" {
		cfg.Address = ":10250"
	}
	defaultDur(&cfg.BackoffInitial, 10*time.Second)
	defaultDur(&cfg.BackoffMax, 5*time.Minute)
	defaultDur(&cfg.LeaseRenew, 10*time.Second)
	defaultDur(&cfg.StatusPeriod, time.Minute)
	defaultDur(&cfg.ResyncPeriod, time.Second)
	if cfg.ClusterDomain == "" {
		cfg.ClusterDomain = "cluster.local"
	}
	if cfg.Dial == nil {
		cfg.Dial = (&net.Dialer{}).DialContext
	}
	if cfg.EvictionHard == nil {
		cfg.EvictionHard, _ = ParseThresholds(DefaultEvictionHard)
	}
	defaultDur(&cfg.EvictionMonitoringPeriod, 10*time.Second)
	defaultDur(&cfg.EvictionPressureTransitionPeriod, 5*time.Minute)
	defaultDur(&cfg.ImageMinimumGCAge, DefaultImageMinimumGCAge)
	defaultDur(&cfg.ImageGCPeriod, 5*time.Minute)
	if cfg.ImageGCHighThresholdPercent == 0 {
		cfg.ImageGCHighThresholdPercent = DefaultImageGCHighThresholdPercent
	}
	if cfg.ImageGCLowThresholdPercent == 0 {
		cfg.ImageGCLowThresholdPercent = DefaultImageGCLowThresholdPercent
	}
}

// validateGC checks the image GC thresholds (after defaulting).
func validateGC(cfg Config) error {
	hi, lo := cfg.ImageGCHighThresholdPercent, cfg.ImageGCLowThresholdPercent
	if hi < 0 || hi > 100 || lo < 0 || lo > 100 || lo > hi {
		return fmt.Errorf("kubelet: image GC thresholds must satisfy 0 <= low (%d) <= high (%d) <= 100", lo, hi)
	}
	return nil
}

func defaultDur(d *time.Duration, v time.Duration) {
	if *d == 0 {
		*d = v
	}
}

// Start registers the node and runs until ctx is cancelled; it returns after
// every goroutine it started has exited. Containers keep running.
func (k *Kubelet) Start(ctx context.Context) error {
	ver, err := k.runtime.Version(ctx, &runtimeapi.VersionRequest{})
	if err != nil {
		return fmt.Errorf("runtime version: %w", err)
	}
	k.rtName = ver.RuntimeName
	bc := record.NewBroadcaster()
	bc.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: k.events.CoreV1().Events("")})
	defer bc.Shutdown()
	k.recorder = bc.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: k.cfg.NodeName})

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	k.ctx = ctx
	var srv *server
	if k.cfg.Address != "-" {
		if srv, err = k.newServer(); err != nil {
			return err
		}
	}
	if err := k.startInformers(ctx); err != nil {
		return err
	}
	k.static = newStaticPods(k)
	k.static.sync(ctx) // before housekeeping, so static pods are not orphans
	run := func(f func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	run(k.runNode)
	run(k.static.run)
	run(k.housekeeping)
	run(k.runEviction)
	if srv != nil {
		run(srv.run)
	}
	<-ctx.Done()
	wg.Wait()
	for _, f := range k.shutdown {
		f() // informers: no more handler calls after this
	}
	k.mu.Lock()
	k.stopped = true
	k.mu.Unlock()
	k.wg.Wait()
	return nil
}

// startInformers watches this node's pods and the objects pods reference.
func (k *Kubelet) startInformers(ctx context.Context) error {
	podFactory := informers.NewSharedInformerFactoryWithOptions(k.client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", k.cfg.NodeName).String()
		}))
	other := informers.NewSharedInformerFactory(k.client, 0)
	podInf := podFactory.Core().V1().Pods()
	k.pods = podInf.Lister()
	k.configMaps = other.Core().V1().ConfigMaps().Lister()
	k.secrets = other.Core().V1().Secrets().Lister()
	k.services = other.Core().V1().Services().Lister()
	_, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { k.podChanged(o) },
		UpdateFunc: func(_, o any) { k.podChanged(o) },
		DeleteFunc: func(o any) { k.podDeleted(o) },
	})
	if err != nil {
		return err
	}
	podFactory.Start(ctx.Done())
	other.Start(ctx.Done())
	k.shutdown = append(k.shutdown, podFactory.Shutdown, other.Shutdown)
	for _, f := range []interface {
		WaitForCacheSync(<-chan struct{}) map[reflect.Type]bool
	}{podFactory, other} {
		for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
			if !ok {
				return fmt.Errorf("cache for %v did not sync", typ)
			}
		}
	}
	return nil
}
