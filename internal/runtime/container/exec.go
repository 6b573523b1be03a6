package container

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/klite/klite/internal/runtime/cgroups"
	"github.com/klite/klite/internal/runtime/oci"
	"github.com/klite/klite/internal/runtime/runner"
)

// ExecResult is the outcome of a synchronous exec.
type ExecResult struct {
	Stdout, Stderr []byte
	ExitCode       int
}

// Exec runs cmd inside a running container (with the container's env,
// cwd, user and capabilities) and waits for it, at most timeout when it is
// positive: then the process is killed and reaped.
func (m *Manager) Exec(ctx context.Context, id string, cmd []string, timeout time.Duration) (*ExecResult, error) {
	c, err := m.execTarget(id, cmd)
	if err != nil {
		return nil, err
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	pidFile := filepath.Join(c.Dir, fmt.Sprintf("exec-%d.pid", m.execSeq.Add(1)))
	defer os.Remove(pidFile)
	var stdout, stderr lockedBuffer
	p, err := m.rt.Exec(id, c.Dir, runner.ExecProcess{Args: cmd, Stdout: &stdout, Stderr: &stderr, PidFile: pidFile})
	if err != nil {
		return nil, err
	}
	code, err := waitOrKill(ctx, p)
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("exec in %s: %w", id, ctx.Err())
	case err != nil:
		return nil, fmt.Errorf("exec in %s: %w", id, err)
	}
	return &ExecResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: code}, nil
}

// execTarget returns container id if it runs and cmd is not empty.
func (m *Manager) execTarget(id string, cmd []string) (*Container, error) {
	c, err := m.Get(id)
	if err != nil {
		return nil, err
	}
	if c.State != Running {
		return nil, fmt.Errorf("container %s is %s, not Running", id, c.State)
	}
	if len(cmd) == 0 {
		return nil, errors.New("exec: empty command")
	}
	return c, nil
}

// waitOrKill waits for p, killing it when ctx ends first (it is reaped
// all the same: nothing is left behind).
func waitOrKill(ctx context.Context, p runner.Process) (int, error) {
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			_ = p.Kill()
		case <-done:
		}
	}()
	return p.Wait()
}

// lockedBuffer is a bytes.Buffer safe for a writer and a reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of what was written.
func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// ReopenLog makes the container's shim start a new log file at the log
// path (after the kubelet rotated the old one away).
func (m *Manager) ReopenLog(id string) error {
	c, err := m.Get(id)
	if err != nil {
		return err
	}
	if c.State != Running || !m.shimAlive(c) {
		return fmt.Errorf("container %s is %s, not Running", id, c.State)
	}
	if err := unix.Kill(c.ShimPid, unix.SIGUSR1); err != nil {
		return fmt.Errorf("signal shim of %s: %w", id, err)
	}
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(c.LogPath); err == nil {
			return nil
		}
	}
	return fmt.Errorf("shim of %s did not reopen %s", id, c.LogPath)
}

// UpdateResources changes a container's cgroup limits in place.
func (m *Manager) UpdateResources(id string, r oci.Resources) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.containers[id]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	err := m.cfg.Cgroups.Set(c.Cgroup, cgroups.Resources{MemoryLimit: r.MemoryLimit, CPUShares: r.CPUShares,
		CPUQuota: r.CPUQuota, CPUPeriod: r.CPUPeriod, PidsLimit: r.PidsLimit})
	if err != nil {
		return err
	}
	c.Config.Resources = r
	return m.save(c)
}
