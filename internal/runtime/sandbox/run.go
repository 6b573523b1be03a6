package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/klite/klite/internal/runtime/pause"
	"github.com/klite/klite/internal/runtime/proc"
)

// Run starts a sandbox for cfg: pause process, cgroup, network and the
// files its containers mount. On error nothing is left behind.
func (m *Manager) Run(cfg Config) (_ *Sandbox, err error) {
	if !cfg.HostNetwork && m.cfg.Network == nil {
		return nil, errors.New("sandbox: no pod network configured; only hostNetwork pods can run")
	}
	id := newID()
	sb := &Sandbox{ID: id, Config: cfg, Dir: filepath.Join(m.cfg.Root, id),
		Cgroup: m.cgroupPath(&cfg, id), CreatedAt: time.Now()}
	if err := os.MkdirAll(sb.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	defer func() {
		if err != nil {
			m.teardown(sb)
			_ = m.cfg.Cgroups.Remove(sb.Cgroup)
			_ = os.RemoveAll(sb.Dir)
		}
	}()
	if err := m.start(sb); err != nil {
		return nil, err
	}
	sb.State = Ready
	if err := m.save(sb); err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.sandboxes[id] = sb
	m.mu.Unlock()
	m.log.Info("sandbox ready", "pod", cfg.Namespace+"/"+cfg.Name, "id", id[:12], "ip", sb.IP)
	cp := *sb
	return &cp, nil
}

func (m *Manager) start(sb *Sandbox) error {
	cfg := &sb.Config
	if err := m.cfg.Cgroups.Create(sb.Cgroup); err != nil {
		return err
	}
	if err := m.cfg.Cgroups.Set(sb.Cgroup, cfg.Resources); err != nil {
		return err
	}
	p, err := pause.Start(pause.Config{Hostname: cfg.Hostname, HostNetwork: cfg.HostNetwork,
		HostIPC: cfg.HostIPC, NewPID: cfg.SharePID && !cfg.HostPID})
	if err != nil {
		return err
	}
	sb.PausePID = p.Pid
	sb.PauseTime = proc.StartTime(p.Pid)
	if err := m.joinCgroup(sb, p.Pid); err != nil {
		return err
	}
	if !cfg.HostNetwork {
		ip, err := m.cfg.Network.Setup(sb.ID, sb.NamespacePath("net"), cfg.PortMappings)
		if err != nil {
			return err
		}
		sb.IP = ip.String()
	}
	return writeEtcFiles(sb)
}

// joinCgroup puts the pause process in the pod's cgroup; on cgroup v2,
// where a cgroup with children may hold no processes, in a "pause" child.
func (m *Manager) joinCgroup(sb *Sandbox, pid int) error {
	path := sb.Cgroup
	if m.cfg.Cgroups.V2() {
		path += "/pause"
		if err := m.cfg.Cgroups.Create(path); err != nil {
			return err
		}
	}
	return m.cfg.Cgroups.AddProcess(path, pid)
}

// Stop tears the sandbox's network down and kills every process in its
// cgroup, the pause process last. It is idempotent.
func (m *Manager) Stop(id string) error {
	m.mu.Lock()
	sb, ok := m.sandboxes[id]
	m.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	m.teardown(sb)
	// Get and List copy sandboxes under m.mu, so the state changes under it too.
	m.mu.Lock()
	sb.State = NotReady
	cp := *sb
	m.mu.Unlock()
	return m.save(&cp)
}

func (m *Manager) teardown(sb *Sandbox) {
	if !sb.Config.HostNetwork && m.cfg.Network != nil {
		if err := m.cfg.Network.Teardown(sb.ID); err != nil {
			m.log.Warn("sandbox network teardown failed", "id", sb.ID[:12], "err", err)
		}
	}
	if procs, err := m.cfg.Cgroups.Procs(sb.Cgroup); err == nil {
		for _, pid := range procs {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
	if pauseAlive(sb) {
		if err := pause.Kill(sb.PausePID, 5*time.Second); err != nil {
			m.log.Warn("kill pause failed", "id", sb.ID[:12], "err", err)
		}
	}
}

// Remove stops the sandbox and deletes its cgroup and files.
func (m *Manager) Remove(id string) error {
	if err := m.Stop(id); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	m.mu.Lock()
	sb := m.sandboxes[id]
	m.mu.Unlock()
	if err := m.cfg.Cgroups.Remove(sb.Cgroup); err != nil {
		return err
	}
	if err := os.RemoveAll(sb.Dir); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	m.mu.Lock()
	delete(m.sandboxes, id)
	m.mu.Unlock()
	return nil
}

// pauseAlive reports whether the recorded pause process still runs (and
// is the same process, not a reused PID).
func pauseAlive(sb *Sandbox) bool {
	return proc.Running(sb.PausePID, sb.PauseTime)
}
