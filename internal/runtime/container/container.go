// Package container runs a pod's containers through an OCI runtime
// (package runner: runc's libcontainer compiled in, by default, or a
// binary such as runc). For each container it mounts the image's rootfs on
// overlayfs, writes an OCI bundle, starts a shim that creates the container
// and owns its stdio and exit status, and records the container in
// <root>/<id>/container.json so a restarted runtime finds it.
//
// States (as the CRI defines them):
//
//	Create ──► Created ──Start──► Running ──(exit or Stop)──► Exited ──Remove──► gone
package container

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klite/klite/internal/runtime/cgroups"
	"github.com/klite/klite/internal/runtime/image"
	"github.com/klite/klite/internal/runtime/oci"
	"github.com/klite/klite/internal/runtime/runner"
)

// ErrNotFound is returned for an unknown container ID.
var ErrNotFound = errors.New("container not found")

// State of a container.
type State string

// Container states.
const (
	Created State = "Created"
	Running State = "Running"
	Exited  State = "Exited"
)

// Exit reasons.
const (
	ReasonCompleted = "Completed"
	ReasonError     = "Error"
	ReasonOOMKilled = "OOMKilled"
)

// Config describes one container.
type Config struct {
	Name       string   `json:"name"`
	Attempt    uint32   `json:"attempt"`
	Image      string   `json:"image"`
	Command    []string `json:"command,omitempty"`
	Args       []string `json:"args,omitempty"`
	WorkingDir string   `json:"workingDir,omitempty"`
	// Env holds "NAME=value" entries, overriding the image's.
	Env    []string    `json:"env,omitempty"`
	Mounts []oci.Mount `json:"mounts,omitempty"`
	// LogPath is the CRI log file; default <dir>/container.log.
	LogPath       string        `json:"logPath,omitempty"`
	Resources     oci.Resources `json:"resources"`
	RunAsUser     *int64        `json:"runAsUser,omitempty"`
	RunAsGroup    *int64        `json:"runAsGroup,omitempty"`
	RunAsUsername string        `json:"runAsUsername,omitempty"`
	// SupplementalGroups are added to the user's groups.
	SupplementalGroups []int64 `json:"supplementalGroups,omitempty"`
	// MaskedPaths and ReadonlyPaths replace oci's defaults when set.
	MaskedPaths    []string `json:"maskedPaths,omitempty"`
	ReadonlyPaths  []string `json:"readonlyPaths,omitempty"`
	ReadOnlyRootfs bool     `json:"readOnlyRootfs,omitempty"`
	Privileged     bool     `json:"privileged,omitempty"`
	// NoNewPrivs keeps the container's processes from gaining privileges
	// through setuid programs or file capabilities.
	NoNewPrivs bool `json:"noNewPrivs,omitempty"`
	// Stdin gives the container a stdin fed by attached clients; StdinOnce
	// closes it when the first client detaches.
	Stdin     bool `json:"stdin,omitempty"`
	StdinOnce bool `json:"stdinOnce,omitempty"`
	// TTY gives the container a terminal; its output is logged as stdout.
	TTY bool `json:"tty,omitempty"`
	// SeccompProfile is a localhost seccomp profile: a JSON file in the
	// runtime spec's (and Docker's) format. It wins over Seccomp.
	SeccompProfile string `json:"seccompProfile,omitempty"`
	// Seccomp applies the RuntimeDefault seccomp profile.
	Seccomp     bool              `json:"seccomp,omitempty"`
	CapAdd      []string          `json:"capAdd,omitempty"`
	CapDrop     []string          `json:"capDrop,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Container is one container and its status.
type Container struct {
	ID         string    `json:"id"`
	SandboxID  string    `json:"sandboxID"`
	ImageID    string    `json:"imageID"`
	Config     Config    `json:"config"`
	State      State     `json:"state"`
	CreatedAt  time.Time `json:"createdAt"`
	StartedAt  time.Time `json:"startedAt,omitempty"`
	FinishedAt time.Time `json:"finishedAt,omitempty"`
	ExitCode   int32     `json:"exitCode"`
	Reason     string    `json:"reason,omitempty"`
	Pid        int       `json:"pid"`
	PidStart   uint64    `json:"pidStart"` // with Pid, identifies the container's init
	ShimPid    int       `json:"shimPid"`
	ShimStart  uint64    `json:"shimStart"` // with ShimPid, identifies the shim
	Cgroup     string    `json:"cgroup"`
	LogPath    string    `json:"logPath"`
	// Dir is the bundle: config.json, fs/ (the rootfs), state files.
	Dir string `json:"-"`
}

// ManagerConfig configures a Manager.
type ManagerConfig struct {
	Root string
	// RuncPath is an OCI runtime binary (a path, or a name looked up in
	// PATH); "" (the default) is the built-in libcontainer.
	RuncPath string
	// RuncRoot is the OCI runtime's state dir; default /run/klite/runc.
	RuncRoot string
	Images   *image.Store
	Cgroups  *cgroups.Manager
	// LogMaxSize rotates container logs at this many bytes (0: never, the
	// kubelet rotates); LogMaxFiles files are kept per container (default 5).
	LogMaxSize  int64
	LogMaxFiles int
	Logger      *slog.Logger
}

// Manager creates and runs containers. It is safe for concurrent use.
type Manager struct {
	cfg ManagerConfig
	rt  runner.Runtime
	log *slog.Logger

	mu         sync.Mutex
	containers map[string]*Container
	execSeq    atomic.Uint64 // names exec pid files
}

// NewManager validates cfg and loads the containers recorded under cfg.Root.
func NewManager(cfg ManagerConfig) (*Manager, error) {
	if cfg.Root == "" || cfg.Images == nil || cfg.Cgroups == nil {
		return nil, errors.New("container: root, images and cgroups are required")
	}
	if cfg.RuncPath != "" {
		p, err := exec.LookPath(cfg.RuncPath)
		if err != nil {
			return nil, fmt.Errorf("container: OCI runtime %q: %w", cfg.RuncPath, err)
		}
		cfg.RuncPath = p
	}
	if cfg.RuncRoot == "" {
		cfg.RuncRoot = "/run/klite/runc"
	}
	rt, err := runner.New(cfg.RuncPath, cfg.RuncRoot)
	if err != nil {
		return nil, fmt.Errorf("container: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	for _, d := range []string{cfg.Root, cfg.RuncRoot} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("container: %w", err)
		}
	}
	m := &Manager{cfg: cfg, rt: rt, log: cfg.Logger, containers: map[string]*Container{}}
	return m, m.load()
}

func (m *Manager) load() error {
	entries, err := os.ReadDir(m.cfg.Root)
	if err != nil {
		return fmt.Errorf("container: %w", err)
	}
	for _, e := range entries {
		dir := filepath.Join(m.cfg.Root, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, "container.json"))
		if err != nil {
			continue // Create failed before recording it
		}
		var c Container
		if err := json.Unmarshal(b, &c); err != nil {
			return fmt.Errorf("container: decode %s: %w", dir, err)
		}
		c.Dir = dir
		m.containers[c.ID] = &c
	}
	return nil
}

// Get returns a copy of the container with its current state.
func (m *Manager) Get(id string) (*Container, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.containers[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	m.refreshLocked(c)
	cp := *c
	return &cp, nil
}

// IDs returns the IDs of all containers, without refreshing their state (cheap: resolving an
// ID prefix must not read every container's process).
func (m *Manager) IDs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]string, 0, len(m.containers))
	for id := range m.containers {
		ids = append(ids, id)
	}
	return ids
}

// List returns copies of all containers, oldest first.
func (m *Manager) List() []*Container {
	return m.list(func(*Container) bool { return true })
}

// ListSandbox is List for the containers of one sandbox; it looks at no
// other container's processes.
func (m *Manager) ListSandbox(sandboxID string) []*Container {
	return m.list(func(c *Container) bool { return c.SandboxID == sandboxID })
}

func (m *Manager) list(keep func(*Container) bool) []*Container {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Container
	for _, c := range m.containers {
		if !keep(c) {
			continue
		}
		m.refreshLocked(c)
		cp := *c
		out = append(out, &cp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out
}

func (m *Manager) save(c *Container) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(c.Dir, "container.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("container: save: %w", err)
	}
	return os.Rename(tmp, filepath.Join(c.Dir, "container.json"))
}

func newID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
