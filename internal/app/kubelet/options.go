// Package kubelet wires `klite kubelet`: upstream-named flags, the node's
// container runtime (klite's own, in-process, unless
// --container-runtime-endpoint names an external CRI socket) and the
// kubelet itself (internal/kubelet).
package kubelet

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	appruntime "github.com/klite/klite/internal/app/runtime"
	"github.com/klite/klite/internal/kubelet"
)

// Options are `klite kubelet`'s flags.
type Options struct {
	Kubeconfig       string
	DataDir          string
	RootDir          string // default <data-dir>/kubelet
	HostnameOverride string
	NodeIP           string
	PodManifestPath  string // default <data-dir>/manifests
	// ContainerRuntimeEndpoint is an external CRI socket (unix:///run/containerd/containerd.sock);
	// empty runs klite's runtime in-process.
	ContainerRuntimeEndpoint  string
	MaxPods                   int
	NodeLabels                map[string]string
	SystemReserved            map[string]string
	ClusterDNS                []string
	ClusterDomain             string
	Address                   string
	Port                      int
	TLSCertFile               string
	TLSPrivateKeyFile         string
	ClientCAFile              string
	NodeStatusUpdateFrequency time.Duration
	// EvictionHard is upstream's --eviction-hard ("memory.available<100Mi,...").
	EvictionHard                     string
	EvictionPressureTransitionPeriod time.Duration
	ImageGCHighThresholdPercent      int
	ImageGCLowThresholdPercent       int
	ImageMinimumGCAge                time.Duration
	// Client rate limits (--kube-api-qps, --kube-api-burst, --event-qps, --event-burst).
	Limits kubelet.ClientLimits

	// Runtime configures the in-process runtime (its --root and --listen
	// default to <data-dir>/runtime and <data-dir>/run/klite-cri.sock).
	Runtime *appruntime.Options
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{DataDir: defaultDataDir(), MaxPods: 110, ClusterDomain: "cluster.local",
		Address: "0.0.0.0", Port: 10250, NodeStatusUpdateFrequency: time.Minute, Runtime: appruntime.NewOptions(),
		EvictionHard: kubelet.DefaultEvictionHard, EvictionPressureTransitionPeriod: 5 * time.Minute,
		ImageGCHighThresholdPercent: kubelet.DefaultImageGCHighThresholdPercent,
		ImageGCLowThresholdPercent:  kubelet.DefaultImageGCLowThresholdPercent, ImageMinimumGCAge: kubelet.DefaultImageMinimumGCAge,
		Limits: kubelet.DefaultClientLimits()}
}

func defaultDataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/klite"
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".klite")
	}
	return ".klite"
}

// AddFlags registers the kubelet's flags (and the runtime's) on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Kubeconfig to reach the API server")
	fs.StringVar(&o.DataDir, "data-dir", o.DataDir, "klite's data directory")
	fs.StringVar(&o.RootDir, "root-dir", o.RootDir, "Kubelet state: pod volumes and logs (default <data-dir>/kubelet)")
	fs.StringVar(&o.HostnameOverride, "hostname-override", o.HostnameOverride, "Node name (default: the hostname)")
	fs.StringVar(&o.NodeIP, "node-ip", o.NodeIP, "The node's InternalIP (default: the address of the default route)")
	fs.StringVar(&o.PodManifestPath, "pod-manifest-path", o.PodManifestPath, "Static pod manifests (default <data-dir>/manifests)")
	fs.StringVar(&o.ContainerRuntimeEndpoint, "container-runtime-endpoint", o.ContainerRuntimeEndpoint,
		"External CRI runtime socket (e.g. unix:///run/containerd/containerd.sock); empty runs klite's runtime in-process")
	fs.IntVar(&o.MaxPods, "max-pods", o.MaxPods, "Pods this node can run")
	fs.StringToStringVar(&o.NodeLabels, "node-labels", o.NodeLabels, "Labels added to the Node (key=value,...)")
	fs.StringToStringVar(&o.SystemReserved, "system-reserved", o.SystemReserved, "Resources reserved for the system (cpu=100m,memory=256Mi,...)")
	fs.StringSliceVar(&o.ClusterDNS, "cluster-dns", o.ClusterDNS, "DNS server IPs for pods with dnsPolicy ClusterFirst")
	fs.StringVar(&o.ClusterDomain, "cluster-domain", o.ClusterDomain, "Cluster DNS domain")
	fs.StringVar(&o.Address, "address", o.Address, "IP the kubelet API listens on")
	fs.IntVar(&o.Port, "port", o.Port, "Port of the kubelet API (0 disables it)")
	fs.StringVar(&o.TLSCertFile, "tls-cert-file", o.TLSCertFile, "Serving certificate of the kubelet API (default: self-signed)")
	fs.StringVar(&o.TLSPrivateKeyFile, "tls-private-key-file", o.TLSPrivateKeyFile, "Key of --tls-cert-file")
	fs.StringVar(&o.ClientCAFile, "client-ca-file", o.ClientCAFile, "Require kubelet API clients to present a certificate signed by this CA")
	fs.DurationVar(&o.NodeStatusUpdateFrequency, "node-status-update-frequency", o.NodeStatusUpdateFrequency,
		"Post node status at least this often (and on change)")
	o.AddEvictionFlags(fs)
	o.addClientFlags(fs)
	rt := pflag.NewFlagSet("runtime", pflag.ContinueOnError)
	o.Runtime.AddFlags(rt)
	rt.VisitAll(func(f *pflag.Flag) {
		if f.Name == "root" || f.Name == "listen" {
			f.Name = "runtime-" + f.Name
		}
		if fs.Lookup(f.Name) == nil {
			fs.AddFlag(f)
		}
	})
}

// AddEvictionFlags registers eviction and image GC flags (upstream names); klite server takes
// them for its local agent.
func (o *Options) AddEvictionFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.EvictionHard, "eviction-hard", o.EvictionHard,
		"Hard eviction thresholds: signal<quantity or signal<percent% (memory.available, nodefs.available, nodefs.inodesFree, imagefs.available, imagefs.inodesFree, pid.available); empty for none")
	fs.DurationVar(&o.EvictionPressureTransitionPeriod, "eviction-pressure-transition-period", o.EvictionPressureTransitionPeriod,
		"How long a pressure condition stays after its threshold was last met")
	fs.IntVar(&o.ImageGCHighThresholdPercent, "image-gc-high-threshold", o.ImageGCHighThresholdPercent,
		"Image filesystem usage percent from which image garbage collection runs (100 disables it)")
	fs.IntVar(&o.ImageGCLowThresholdPercent, "image-gc-low-threshold", o.ImageGCLowThresholdPercent,
		"Image filesystem usage percent image garbage collection frees down to")
	fs.DurationVar(&o.ImageMinimumGCAge, "image-minimum-gc-age", o.ImageMinimumGCAge, "Minimum age of an unused image before it is garbage collected")
}

// addClientFlags registers the client rate limits (upstream names and defaults).
func (o *Options) addClientFlags(fs *pflag.FlagSet) {
	fs.Float32Var(&o.Limits.QPS, "kube-api-qps", o.Limits.QPS,
		"Requests per second to the API server, events and heartbeats aside (0: client-go's default 5, negative: no limit)")
	fs.IntVar(&o.Limits.Burst, "kube-api-burst", o.Limits.Burst, "Burst of requests to the API server allowed above --kube-api-qps")
	fs.Float32Var(&o.Limits.EventQPS, "event-qps", o.Limits.EventQPS, "Events posted per second (0: client-go's default 5, negative: no limit)")
	fs.IntVar(&o.Limits.EventBurst, "event-burst", o.Limits.EventBurst, "Burst of events allowed above --event-qps")
}

// Validate checks the options.
func (o *Options) Validate() error {
	var errs []error
	if o.DataDir == "" {
		errs = append(errs, errors.New("--data-dir is required"))
	}
	if o.MaxPods <= 0 {
		errs = append(errs, errors.New("--max-pods must be positive"))
	}
	if o.NodeIP != "" && net.ParseIP(o.NodeIP) == nil {
		errs = append(errs, fmt.Errorf("--node-ip %q is not an IP address", o.NodeIP))
	}
	if _, err := o.reserved(); err != nil {
		errs = append(errs, err)
	}
	if _, err := kubelet.ParseThresholds(o.EvictionHard); err != nil {
		errs = append(errs, fmt.Errorf("--eviction-hard: %w", err))
	}
	if hi, lo := o.ImageGCHighThresholdPercent, o.ImageGCLowThresholdPercent; hi < 0 || hi > 100 || lo < 0 || lo > hi {
		errs = append(errs, fmt.Errorf("--image-gc-low-threshold (%d) must be in [0, --image-gc-high-threshold (%d)] and the high one at most 100", lo, hi))
	}
	if err := o.Limits.Validate(); err != nil {
		errs = append(errs, err)
	}
	if (o.TLSCertFile == "") != (o.TLSPrivateKeyFile == "") {
		errs = append(errs, errors.New("--tls-cert-file and --tls-private-key-file go together"))
	}
	return errors.Join(errs...)
}

// complete fills the directories derived from --data-dir.
func (o *Options) complete() {
	if o.RootDir == "" {
		o.RootDir = filepath.Join(o.DataDir, "kubelet")
	}
	if o.PodManifestPath == "" {
		o.PodManifestPath = filepath.Join(o.DataDir, "manifests")
	}
	def := appruntime.NewOptions()
	if o.Runtime.Root == def.Root {
		o.Runtime.Root = filepath.Join(o.DataDir, "runtime")
	}
	if o.Runtime.Listen == def.Listen {
		o.Runtime.Listen = filepath.Join(o.DataDir, "run", "klite-cri.sock")
	}
}

func (o *Options) reserved() (corev1.ResourceList, error) {
	rl := corev1.ResourceList{}
	for k, v := range o.SystemReserved {
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return nil, fmt.Errorf("--system-reserved %s=%s: %w", k, v, err)
		}
		rl[corev1.ResourceName(k)] = q
	}
	return rl, nil
}

// NodeName is the node's name: --hostname-override, else the hostname, lower-cased.
func (o *Options) NodeName() (string, error) {
	if o.HostnameOverride != "" {
		return strings.ToLower(o.HostnameOverride), nil
	}
	h, err := os.Hostname()
	return strings.ToLower(h), err
}
