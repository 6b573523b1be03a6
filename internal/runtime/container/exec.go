package container

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/klite/klite/internal/runtime/cgroups"
	"github.com/klite/klite/internal/runtime/oci"
)

// ExecResult is the outcome of a synchronous exec.
type ExecResult struct {
	Stdout, Stderr []byte
	ExitCode       int
}

// Exec runs cmd inside a running container (with the container's env,
// cwd, user and capabilities) and waits for it, at most timeout when it is
// positive.
func (m *Manager) Exec(ctx context.Context, id string, cmd []string, timeout time.Duration) (*ExecResult, error) {
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
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	pidFile := filepath.Join(c.Dir, fmt.Sprintf("exec-%d.pid", m.execSeq.Add(1)))
	defer os.Remove(pidFile)
	args := append([]string{"--root", m.cfg.RuncRoot, "exec", "--pid-file", pidFile, id}, cmd...)
	ec := exec.CommandContext(ctx, m.cfg.RuncPath, args...)
	// On timeout the process in the container is killed and runc, its
	// parent, reaps it and exits (killed first, runc would leave it running
	// or, once killed, a zombie under the container's init).
	ec.Cancel = func() error {
		if killPidFile(pidFile) {
			return nil
		}
		return ec.Process.Kill()
	}
	ec.WaitDelay = 5 * time.Second
	var res ExecResult
	var stdout, stderr bytes.Buffer
	ec.Stdout, ec.Stderr = &stdout, &stderr
	err = ec.Run()
	res.Stdout, res.Stderr = stdout.Bytes(), stderr.Bytes()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("exec in %s: %w", id, ctx.Err())
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
	case err != nil:
		return nil, fmt.Errorf("exec in %s: %w", id, err)
	}
	return &res, nil
}

// killPidFile kills the process whose pid runc wrote to path; it reports
// whether there was one.
func killPidFile(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return err == nil && pid > 0 && unix.Kill(pid, unix.SIGKILL) == nil
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
