// Package sandbox runs pod sandboxes: a pause process owning the pod's
// namespaces, a per-pod cgroup under its QoS class, the pod's network, and
// the /etc/hosts, /etc/hostname and /etc/resolv.conf its containers mount.
// Each sandbox is recorded in <root>/<id>/sandbox.json so a restarted
// runtime finds it again.
//
// Lifecycle:
//
//	Run ──► Ready ──Stop──► NotReady ──Remove──► gone
//	        (pause, cgroup, (network torn down,  (cgroup and
//	         network)        processes killed)    files removed)
package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/klite/klite/internal/runtime/cgroups"
	"github.com/klite/klite/internal/runtime/network"
)

// ErrNotFound is returned for an unknown sandbox ID.
var ErrNotFound = errors.New("sandbox not found")

// QoS is a pod's quality-of-service class; it picks the cgroup parent.
type QoS string

// The QoS classes.
const (
	Guaranteed QoS = "Guaranteed"
	Burstable  QoS = "Burstable"
	BestEffort QoS = "BestEffort"
)

// State of a sandbox.
type State string

// Sandbox states.
const (
	Ready    State = "Ready"
	NotReady State = "NotReady"
)

// Config describes the pod a sandbox is for.
type Config struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	UID       string `json:"uid"`
	Attempt   uint32 `json:"attempt"`
	Hostname  string `json:"hostname"`
	// HostNetwork keeps the node's network and UTS namespaces.
	HostNetwork bool `json:"hostNetwork,omitempty"`
	HostIPC     bool `json:"hostIPC,omitempty"`
	HostPID     bool `json:"hostPID,omitempty"`
	// SharePID gives the pod one PID namespace, owned by the pause process.
	SharePID bool `json:"sharePID,omitempty"`
	QoS      QoS  `json:"qos,omitempty"`
	// Resources limit the pod's cgroup as a whole.
	Resources    cgroups.Resources `json:"resources"`
	DNS          DNS               `json:"dns"`
	LogDirectory string            `json:"logDirectory,omitempty"`
	// Sysctls are the pod's namespaced kernel parameters; every container
	// sets them (in the namespaces it shares with the pause process).
	Sysctls map[string]string `json:"sysctls,omitempty"`
	// PortMappings are the pod's container ports; those with a host port
	// are published on the node (not for hostNetwork pods, whose ports are
	// the node's already).
	PortMappings []network.PortMapping `json:"portMappings,omitempty"`
	Labels       map[string]string     `json:"labels,omitempty"`
	Annotations  map[string]string     `json:"annotations,omitempty"`
}

// DNS is the content of the pod's resolv.conf; empty means the node's.
type DNS struct {
	Servers  []string `json:"servers,omitempty"`
	Searches []string `json:"searches,omitempty"`
	Options  []string `json:"options,omitempty"`
}

// Sandbox is one pod sandbox.
type Sandbox struct {
	ID        string    `json:"id"`
	Config    Config    `json:"config"`
	State     State     `json:"state"`
	PausePID  int       `json:"pausePID"`
	PauseTime uint64    `json:"pauseStartTime"` // guards against PID reuse
	IP        string    `json:"ip,omitempty"`
	Cgroup    string    `json:"cgroup"`
	CreatedAt time.Time `json:"createdAt"`
	// Dir holds sandbox.json, hosts, hostname and resolv.conf.
	Dir string `json:"-"`
}

// NamespacePath returns the /proc path of the pause process's namespace
// kind ("net", "ipc", "uts", "pid").
func (s *Sandbox) NamespacePath(kind string) string {
	return fmt.Sprintf("/proc/%d/ns/%s", s.PausePID, kind)
}

// Network connects pod network namespaces; network.Manager (klite's
// bridge) and cni.Manager (CNI plugins) implement it.
type Network interface {
	// Setup connects the namespace at netnsPath, publishes the host ports
	// among ports and returns the pod's IP.
	Setup(id, netnsPath string, ports []network.PortMapping) (net.IP, error)
	// Teardown disconnects sandbox id; it is idempotent.
	Teardown(id string) error
}

// ManagerConfig configures a Manager.
type ManagerConfig struct {
	// Root holds one directory per sandbox.
	Root string
	// Network connects pods; nil allows only hostNetwork pods.
	Network Network
	Cgroups *cgroups.Manager
	// CgroupRoot is the cgroup parent of all pods; default "/klite".
	CgroupRoot string
	Logger     *slog.Logger
}

// Manager runs sandboxes. It is safe for concurrent use.
type Manager struct {
	cfg ManagerConfig
	log *slog.Logger

	mu        sync.Mutex
	sandboxes map[string]*Sandbox
}

// NewManager loads the sandboxes recorded under cfg.Root.
func NewManager(cfg ManagerConfig) (*Manager, error) {
	if cfg.Root == "" || cfg.Cgroups == nil {
		return nil, errors.New("sandbox: root and cgroups are required")
	}
	if cfg.CgroupRoot == "" {
		cfg.CgroupRoot = "/klite"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.Root, 0o700); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	m := &Manager{cfg: cfg, log: cfg.Logger, sandboxes: map[string]*Sandbox{}}
	return m, m.load()
}

func (m *Manager) load() error {
	entries, err := os.ReadDir(m.cfg.Root)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	for _, e := range entries {
		dir := filepath.Join(m.cfg.Root, e.Name())
		data, err := os.ReadFile(filepath.Join(dir, "sandbox.json"))
		if err != nil {
			continue // half-created: Run failed before recording it
		}
		var sb Sandbox
		if err := json.Unmarshal(data, &sb); err != nil {
			return fmt.Errorf("sandbox: decode %s: %w", dir, err)
		}
		sb.Dir = dir
		if sb.State == Ready && !pauseAlive(&sb) {
			sb.State = NotReady
		}
		m.sandboxes[sb.ID] = &sb
	}
	return nil
}

// Get returns a copy of the sandbox with the given ID.
func (m *Manager) Get(id string) (*Sandbox, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sb, ok := m.sandboxes[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	cp := *sb
	if cp.State == Ready && !pauseAlive(&cp) {
		cp.State = NotReady
	}
	return &cp, nil
}

// IDs returns the IDs of all sandboxes, without checking their pause processes.
func (m *Manager) IDs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]string, 0, len(m.sandboxes))
	for id := range m.sandboxes {
		ids = append(ids, id)
	}
	return ids
}

// List returns copies of all sandboxes, oldest first.
func (m *Manager) List() []*Sandbox {
	var out []*Sandbox
	for _, id := range m.IDs() {
		if sb, err := m.Get(id); err == nil {
			out = append(out, sb)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out
}

func (m *Manager) cgroupPath(cfg *Config, id string) string {
	pod := "pod" + cfg.UID
	if cfg.UID == "" {
		pod = "pod" + id[:12]
	}
	switch cfg.QoS {
	case Guaranteed:
		return filepath.Join(m.cfg.CgroupRoot, pod)
	case BestEffort:
		return filepath.Join(m.cfg.CgroupRoot, "besteffort", pod)
	default:
		return filepath.Join(m.cfg.CgroupRoot, "burstable", pod)
	}
}

func (m *Manager) save(sb *Sandbox) error {
	data, err := json.MarshalIndent(sb, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(sb.Dir, "sandbox.json.tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("sandbox: save: %w", err)
	}
	return os.Rename(tmp, filepath.Join(sb.Dir, "sandbox.json"))
}

func newID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
