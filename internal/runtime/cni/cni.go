// Package cni connects pod sandboxes through CNI plugins (libcni) when
// the node has a CNI configuration, instead of klite's own bridge network:
// the first *.conflist (or *.conf/*.json) in the config dir, in name
// order, is run with ADD on sandbox start and DEL on teardown, with the
// pod end named eth0 and the pod's host ports as the "portMappings"
// capability.
package cni

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"golang.org/x/sys/unix"

	"github.com/klite/klite/internal/runtime/network"
)

// Defaults of the usual CNI locations.
var (
	DefaultConfDir = "/etc/cni/net.d"
	DefaultBinDirs = []string{"/opt/cni/bin", "/usr/lib/cni"}
)

// timeout bounds one plugin chain invocation.
const timeout = time.Minute

// Config configures a Manager.
type Config struct {
	ConfDir string
	BinDirs []string
	// StateDir holds libcni's cache and the netns path of each sandbox.
	StateDir string
	// HostNetNS runs the plugins inside this network namespace instead
	// of klite's own (tests use a private one).
	HostNetNS string
}

// Manager sets up and tears down sandbox networks with CNI plugins.
type Manager struct {
	cfg  Config
	list *libcni.NetworkConfigList
	cni  *libcni.CNIConfig
}

// HasConfig reports whether dir holds a CNI network configuration.
func HasConfig(dir string) bool {
	files, err := libcni.ConfFiles(dir, []string{".conflist", ".conf", ".json"})
	return err == nil && len(files) > 0
}

// New loads the first network configuration of cfg.ConfDir.
func New(cfg Config) (*Manager, error) {
	if cfg.ConfDir == "" {
		cfg.ConfDir = DefaultConfDir
	}
	if len(cfg.BinDirs) == 0 {
		cfg.BinDirs = DefaultBinDirs
	}
	if cfg.StateDir == "" {
		return nil, errors.New("cni: state dir is required")
	}
	list, err := loadFirst(cfg.ConfDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("cni: %w", err)
	}
	exec := &nsExec{DefaultExec: invoke.DefaultExec{RawExec: &invoke.RawExec{Stderr: os.Stderr}}, netns: cfg.HostNetNS}
	return &Manager{cfg: cfg, list: list,
		cni: libcni.NewCNIConfigWithCacheDir(cfg.BinDirs, filepath.Join(cfg.StateDir, "cache"), exec)}, nil
}

func loadFirst(dir string) (*libcni.NetworkConfigList, error) {
	files, err := libcni.ConfFiles(dir, []string{".conflist", ".conf", ".json"})
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("cni: no network configuration in %s (%v)", dir, err)
	}
	f := files[0] // ConfFiles sorts by name
	if strings.HasSuffix(f, ".conflist") {
		return libcni.ConfListFromFile(f)
	}
	conf, err := libcni.ConfFromFile(f)
	if err != nil {
		return nil, fmt.Errorf("cni: %w", err)
	}
	return libcni.ConfListFromConf(conf)
}

// Name is the network's name from its configuration.
func (m *Manager) Name() string { return m.list.Name }

// Setup runs ADD for sandbox id's namespace and returns its IPv4 address.
// The ports with a host port go to the plugins as the "portMappings"
// capability (the portmap plugin publishes them).
func (m *Manager) Setup(id, netnsPath string, ports []network.PortMapping) (net.IP, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	st, err := json.Marshal(state{NetNS: netnsPath, Ports: capabilityPorts(ports)})
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(m.stateFile(id), st, 0o600); err != nil {
		return nil, fmt.Errorf("cni: %w", err)
	}
	res, err := m.cni.AddNetworkList(ctx, m.list, m.runtimeConf(id, netnsPath, capabilityPorts(ports)))
	if err != nil {
		_ = m.Teardown(id)
		return nil, fmt.Errorf("cni: add %s: %w", m.list.Name, err)
	}
	cur, err := types100.NewResultFromResult(res)
	if err != nil {
		_ = m.Teardown(id)
		return nil, fmt.Errorf("cni: result: %w", err)
	}
	for _, ip := range cur.IPs {
		if ip.Address.IP.To4() != nil {
			return ip.Address.IP, nil
		}
	}
	_ = m.Teardown(id)
	return nil, fmt.Errorf("cni: %s gave no IPv4 address", m.list.Name)
}

// Teardown runs DEL for sandbox id (with its namespace, if it still
// exists, so plugins can clean inside it); it is idempotent.
func (m *Manager) Teardown(id string) error {
	st, file, err := m.readState(id)
	if os.IsNotExist(err) {
		return nil // never set up, or already torn down
	}
	if err != nil {
		return err
	}
	if _, err := os.Stat(st.NetNS); err != nil {
		st.NetNS = "" // the pod's namespace is gone; DEL still frees the address
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := m.cni.DelNetworkList(ctx, m.list, m.runtimeConf(id, st.NetNS, st.Ports)); err != nil {
		return fmt.Errorf("cni: del %s: %w", m.list.Name, err)
	}
	return os.Remove(file)
}

// readState reads what ADD recorded for id, and the file it is in: the
// JSON state, or the bare netns path earlier versions kept in <id>.netns.
func (m *Manager) readState(id string) (state, string, error) {
	var st state
	file := m.stateFile(id)
	b, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		file = filepath.Join(m.cfg.StateDir, id+".netns")
		b, err = os.ReadFile(file)
		return state{NetNS: string(b)}, file, err
	}
	if err != nil {
		return st, file, fmt.Errorf("cni: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, file, fmt.Errorf("cni: decode %s: %w", file, err)
	}
	return st, file, nil
}

// state is what DEL needs of an ADD, kept in <StateDir>/<id>.json.
type state struct {
	NetNS string        `json:"netns"`
	Ports []portMapping `json:"portMappings,omitempty"`
}

// portMapping is one entry of the CNI "portMappings" capability.
type portMapping struct {
	HostPort      int32  `json:"hostPort"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol"`
	HostIP        string `json:"hostIP,omitempty"`
}

// capabilityPorts are the mappings that publish a host port, as the
// "portMappings" capability spells them.
func capabilityPorts(ports []network.PortMapping) []portMapping {
	var out []portMapping
	for _, p := range ports {
		if p.HostPort == 0 {
			continue
		}
		proto := strings.ToLower(p.Protocol)
		if proto == "" {
			proto = "tcp"
		}
		out = append(out, portMapping{HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: proto, HostIP: p.HostIP})
	}
	return out
}

func (m *Manager) runtimeConf(id, netnsPath string, ports []portMapping) *libcni.RuntimeConf {
	rc := &libcni.RuntimeConf{ContainerID: id, NetNS: netnsPath, IfName: "eth0"}
	if len(ports) > 0 {
		rc.CapabilityArgs = map[string]any{"portMappings": ports}
	}
	return rc
}

func (m *Manager) stateFile(id string) string { return filepath.Join(m.cfg.StateDir, id+".json") }

// nsExec runs plugins inside a given network namespace: the plugin
// process is forked from a thread switched into it.
type nsExec struct {
	invoke.DefaultExec
	netns string
}

func (e *nsExec) ExecPlugin(ctx context.Context, path string, stdin []byte, env []string) ([]byte, error) {
	if e.netns == "" {
		return e.DefaultExec.ExecPlugin(ctx, path, stdin, env)
	}
	type result struct {
		out []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		goruntime.LockOSThread() // never unlocked: the thread dies in the other namespace
		f, err := os.Open(e.netns)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{err: err}
			return
		}
		out, err := e.DefaultExec.ExecPlugin(ctx, path, stdin, env)
		ch <- result{out, err}
	}()
	r := <-ch
	return r.out, r.err
}
