// Package runtime wires klite's CRI runtime into commands: `klite runtime`
// serves the CRI on a unix socket for crictl, critest or a kubelet, and
// `klite image import|ls|rm` manage its image store without a registry.
//
// The runtime re-executes the klite binary for its pause and shim
// processes and (libcontainer) for each container's init, so cmd/klite's
// main must call MaybeRunHelper first thing:
//
//	func main() {
//		if appruntime.MaybeRunHelper() {
//			return
//		}
//		...
//	}
package runtime

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/klite/klite/internal/runtime/cni"
	"github.com/klite/klite/internal/runtime/cri"
	"github.com/klite/klite/internal/runtime/runner"
	"github.com/klite/klite/internal/runtime/shim"
)

// MaybeRunHelper runs klite as a container's init (libcontainer
// re-executes klite with argv[1] "init") or a container's shim when the
// arguments ask for one, and returns true when it did (main must then
// return). It returns false at once for every other invocation. Tests call
// shim.MaybeRun, which runs the init too. (A pod's pause process never
// reaches Go: package pause runs it from a C constructor.)
func MaybeRunHelper() bool {
	return runner.MaybeInit() || shim.MaybeRun()
}

// Options are the runtime's flags.
type Options struct {
	Root               string
	Listen             string
	RuncPath           string
	RuncRoot           string
	Bridge             string
	PodCIDR            string
	CgroupRoot         string
	InsecureRegistries []string
	RegistryMirrors    map[string]string
	LogMaxSize         int64
	LogMaxFiles        int
	CNIConfDir         string
	CNIBinDirs         []string
	// HostNetNS and NFTable place the node bridge and masquerade rules in
	// another network namespace and table (tests keep them off the machine).
	HostNetNS string
	NFTable   string
}

// defaultDataDir is /var/lib/klite for root and ~/.klite otherwise.
func defaultDataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/klite"
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".klite")
	}
	return ".klite"
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	data := defaultDataDir()
	return &Options{
		Root:        filepath.Join(data, "runtime"),
		Listen:      filepath.Join(data, "run", "klite-cri.sock"),
		RuncRoot:    "/run/klite/runc",
		Bridge:      "klite0",
		PodCIDR:     "10.42.0.0/24",
		CgroupRoot:  "/klite",
		LogMaxFiles: 5,
		CNIConfDir:  cni.DefaultConfDir,
		CNIBinDirs:  cni.DefaultBinDirs,
	}
}

// AddRootFlag registers --root only (for the image commands).
func (o *Options) AddRootFlag(fs *pflag.FlagSet) {
	fs.StringVar(&o.Root, "root", o.Root, "Directory holding the runtime's images, sandboxes and containers")
}

// AddFlags registers all runtime flags on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.AddRootFlag(fs)
	fs.StringVar(&o.Listen, "listen", o.Listen, "Unix socket to serve the CRI on")
	fs.StringVar(&o.RuncPath, "runc", o.RuncPath,
		"OCI runtime binary (runc or crun; a path or a name in PATH); empty: runc's libcontainer built into klite")
	fs.StringVar(&o.RuncRoot, "runc-root", o.RuncRoot, "State directory of the OCI runtime")
	fs.StringVar(&o.Bridge, "bridge", o.Bridge, "Node bridge the pods' veths attach to")
	fs.StringVar(&o.PodCIDR, "pod-cidr", o.PodCIDR, "This node's pod IPv4 range; its first address is the bridge's")
	fs.StringVar(&o.CgroupRoot, "cgroup-root", o.CgroupRoot, "Cgroup parent of all pods")
	fs.StringSliceVar(&o.InsecureRegistries, "insecure-registry", o.InsecureRegistries,
		"Registries (host or host:port) that may be pulled from over plain HTTP; loopback always may")
	fs.StringToStringVar(&o.RegistryMirrors, "registry-mirror", o.RegistryMirrors,
		"REGISTRY=HOST[:PORT]: pull images named on REGISTRY (e.g. docker.io) from HOST instead")
	fs.StringVar(&o.CNIConfDir, "cni-conf-dir", o.CNIConfDir,
		"When this directory holds a CNI network configuration, pods are connected by its CNI plugins instead of --bridge")
	fs.StringSliceVar(&o.CNIBinDirs, "cni-bin-dir", o.CNIBinDirs, "Directories holding CNI plugin binaries")
	fs.Int64Var(&o.LogMaxSize, "container-log-max-size", o.LogMaxSize, "Rotate a container's log at this many bytes (0: never)")
	fs.IntVar(&o.LogMaxFiles, "container-log-max-files", o.LogMaxFiles, "Log files kept per container, the current one included")
	fs.StringVar(&o.HostNetNS, "host-netns", o.HostNetNS, "Network namespace (a path) holding the node bridge; empty: this process's")
	fs.StringVar(&o.NFTable, "nftable", o.NFTable, "nftables table of the masquerade rules (default klite)")
}

// Validate checks the options.
func (o *Options) Validate() error {
	var errs []error
	if o.Root == "" {
		errs = append(errs, errors.New("--root is required"))
	}
	if o.Listen == "" {
		errs = append(errs, errors.New("--listen is required"))
	}
	if o.LogMaxSize < 0 || o.LogMaxFiles < 2 {
		errs = append(errs, errors.New("--container-log-max-size must be >= 0 and --container-log-max-files >= 2"))
	}
	if _, _, err := net.ParseCIDR(o.PodCIDR); err != nil {
		errs = append(errs, fmt.Errorf("--pod-cidr: %w", err))
	}
	return errors.Join(errs...)
}

// criConfig turns the options into the runtime's configuration.
func (o *Options) criConfig() cri.Config {
	return cri.Config{Root: o.Root, RuncPath: o.RuncPath, RuncRoot: o.RuncRoot, Bridge: o.Bridge,
		PodSubnet: o.PodCIDR, CgroupRoot: o.CgroupRoot, InsecureRegistries: o.InsecureRegistries, RegistryMirrors: o.RegistryMirrors,
		LogMaxSize: o.LogMaxSize, LogMaxFiles: o.LogMaxFiles, CNIConfDir: o.CNIConfDir, CNIBinDirs: o.CNIBinDirs,
		HostNetNS: o.HostNetNS, NFTable: o.NFTable}
}
