// Package apiserver wires klite's API server: flags, certificates, storage, admission and the
// HTTPS listener. It runs on its own (`klite apiserver`) or inside `klite server`.
package apiserver

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// Options are the API server's flags.
type Options struct {
	DataDir             string
	BindAddress         string
	SecurePort          int
	EtcdServers         []string
	TokenAuthFile       string
	ServiceClusterIPs   string
	ServiceNodePorts    string
	WriteKubeconfig     string
	AdvertiseAddress    string
	ShutdownGracePeriod int
	Profiling           bool
	ServiceAccount      ServiceAccountOptions
}

// DefaultDataDir is /var/lib/klite for root and ~/.klite otherwise.
func DefaultDataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/klite"
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".klite"
	}
	return filepath.Join(home, ".klite")
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		DataDir:             DefaultDataDir(),
		BindAddress:         "0.0.0.0",
		SecurePort:          6443,
		ServiceClusterIPs:   "10.43.0.0/16",
		ServiceNodePorts:    "30000-32767",
		ShutdownGracePeriod: 20,
		Profiling:           true,
	}
}

// AddFlags registers the flags on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.DataDir, "data-dir", o.DataDir, "Directory holding etcd data, certificates and kubeconfigs")
	fs.StringVar(&o.BindAddress, "bind-address", o.BindAddress, "IP address to serve HTTPS on")
	fs.IntVar(&o.SecurePort, "secure-port", o.SecurePort, "Port to serve HTTPS on (0 picks a free port)")
	fs.StringSliceVar(&o.EtcdServers, "etcd-servers", o.EtcdServers, "External etcd client URLs (comma separated); empty starts an embedded etcd")
	fs.StringVar(&o.TokenAuthFile, "token-auth-file", o.TokenAuthFile, "Static bearer tokens file (token,user,uid,\"group1,group2\")")
	fs.StringVar(&o.ServiceClusterIPs, "service-cluster-ip-range", o.ServiceClusterIPs, "CIDR from which Service ClusterIPs are allocated")
	fs.StringVar(&o.ServiceNodePorts, "service-node-port-range", o.ServiceNodePorts, "Port range reserved for NodePort Services")
	fs.StringVar(&o.WriteKubeconfig, "write-kubeconfig", o.WriteKubeconfig, "Also write the admin kubeconfig to this path")
	fs.StringVar(&o.AdvertiseAddress, "advertise-address", o.AdvertiseAddress, "Address clients use to reach this server (default: bind address, or 127.0.0.1 when binding all)")
	fs.IntVar(&o.ShutdownGracePeriod, "shutdown-grace-period", o.ShutdownGracePeriod, "Seconds to let in-flight requests finish on SIGTERM")
	fs.BoolVar(&o.Profiling, "profiling", o.Profiling, "Serve Go profiles at /debug/pprof/ to authenticated clients (the whole process: API server, etcd and in-process components)")
	o.ServiceAccount.addFlags(fs)
}

// Validate checks the options.
func (o *Options) Validate() error {
	if o.DataDir == "" {
		return fmt.Errorf("--data-dir must not be empty")
	}
	if net.ParseIP(o.BindAddress) == nil {
		return fmt.Errorf("--bind-address %q is not an IP address", o.BindAddress)
	}
	if o.SecurePort < 0 || o.SecurePort > 65535 {
		return fmt.Errorf("--secure-port %d is out of range", o.SecurePort)
	}
	if _, err := o.nodePortRange(); err != nil {
		return err
	}
	return nil
}

func (o *Options) nodePortRange() ([2]int, error) {
	lo, hi, ok := strings.Cut(o.ServiceNodePorts, "-")
	a, err1 := strconv.Atoi(lo)
	b, err2 := strconv.Atoi(hi)
	if !ok || err1 != nil || err2 != nil || a <= 0 || b < a || b > 65535 {
		return [2]int{}, fmt.Errorf("--service-node-port-range %q: want LOW-HIGH", o.ServiceNodePorts)
	}
	return [2]int{a, b}, nil
}

// advertiseHost is the host name clients are told to use.
func (o *Options) advertiseHost() string {
	if o.AdvertiseAddress != "" {
		return o.AdvertiseAddress
	}
	if ip := net.ParseIP(o.BindAddress); ip == nil || ip.IsUnspecified() {
		return "127.0.0.1"
	}
	return o.BindAddress
}
