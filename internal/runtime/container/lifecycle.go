package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/klite/klite/internal/runtime/image"
	"github.com/klite/klite/internal/runtime/oci"
	"github.com/klite/klite/internal/runtime/proc"
	"github.com/klite/klite/internal/runtime/rootfs"
	"github.com/klite/klite/internal/runtime/sandbox"
	"github.com/klite/klite/internal/runtime/shim"
)

// Create prepares a container in sandbox sb: rootfs, bundle, and a shim
// holding the created (not yet started) container. On error nothing is
// left behind.
func (m *Manager) Create(cfg Config, sb *sandbox.Sandbox) (_ *Container, err error) {
	img, err := m.cfg.Images.Get(cfg.Image)
	if err != nil {
		return nil, err
	}
	id := newID()
	c := &Container{ID: id, SandboxID: sb.ID, ImageID: img.ID, Config: cfg, State: Created,
		CreatedAt: time.Now(), Dir: filepath.Join(m.cfg.Root, id), Cgroup: sb.Cgroup + "/" + id, LogPath: cfg.LogPath}
	if c.LogPath == "" {
		c.LogPath = filepath.Join(c.Dir, "container.log")
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("container: %w", err)
	}
	defer func() {
		if err != nil {
			m.cleanup(c)
		}
	}()
	root, err := rootfs.Mount(filepath.Join(c.Dir, "fs"), m.cfg.Images.LowerDirs(img))
	if err != nil {
		return nil, err
	}
	spec, err := buildSpec(c, img, sb, root)
	if err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(c.Dir, "config.json"), spec); err != nil {
		return nil, err
	}
	c.ShimPid, c.Pid, err = shim.Start(shim.Config{ID: id, Bundle: c.Dir, RuncPath: m.cfg.RuncPath,
		RuncRoot: m.cfg.RuncRoot, LogPath: c.LogPath, StateDir: c.Dir, CgroupsPath: c.Cgroup,
		LogMaxSize: m.cfg.LogMaxSize, LogMaxFiles: m.cfg.LogMaxFiles, Stdin: cfg.Stdin, StdinOnce: cfg.StdinOnce, Terminal: cfg.TTY})
	if err != nil {
		return nil, fmt.Errorf("create container %s: %w", cfg.Name, err)
	}
	c.ShimStart, c.PidStart = proc.StartTime(c.ShimPid), proc.StartTime(c.Pid)
	if err := m.save(c); err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.containers[id] = c
	m.mu.Unlock()
	cp := *c
	return &cp, nil
}

func buildSpec(c *Container, img *image.Image, sb *sandbox.Sandbox, root string) (any, error) {
	cfg := &c.Config
	args := oci.Command(img.Config.Entrypoint, img.Config.Cmd, cfg.Command, cfg.Args)
	if len(args) == 0 {
		return nil, errors.New("container: no command given and the image has none")
	}
	uid, gid, extra, err := oci.User(root, userSpec(cfg, img.Config.User))
	if err != nil {
		return nil, err
	}
	profile, err := loadSeccomp(cfg.SeccompProfile)
	if err != nil {
		return nil, err
	}
	cwd := cfg.WorkingDir
	if cwd == "" {
		cwd = img.Config.WorkingDir
	}
	var mounts []oci.Mount
	for dst, src := range sb.EtcFiles() {
		mounts = append(mounts, oci.Mount{HostPath: src, ContainerPath: dst})
	}
	return oci.Spec(oci.Options{
		Rootfs: root, Args: args, Env: oci.Env(img.Config.Env, cfg.Env), Cwd: cwd,
		UID: uid, GID: gid, AdditionalGids: withGroups(extra, cfg.SupplementalGroups),
		MaskedPaths: cfg.MaskedPaths, ReadonlyPaths: cfg.ReadonlyPaths, Sysctl: sb.Config.Sysctls,
		Namespaces:  namespaces(sb),
		CgroupsPath: c.Cgroup, Resources: cfg.Resources,
		Mounts:       append(mounts, cfg.Mounts...),
		ReadOnlyRoot: cfg.ReadOnlyRootfs, Privileged: cfg.Privileged, PrivilegedCaps: oci.BoundingCapabilities(),
		NoNewPrivileges: cfg.NoNewPrivs,
		Seccomp:         cfg.Seccomp, SeccompProfile: profile, Terminal: cfg.TTY,
		CapAdd: cfg.CapAdd, CapDrop: cfg.CapDrop,
	}), nil
}

// loadSeccomp reads a localhost seccomp profile; "" means none.
func loadSeccomp(path string) (*specs.LinuxSeccomp, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	var p specs.LinuxSeccomp
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("seccomp profile %s: %w", path, err)
	}
	return &p, nil
}

// withGroups adds the supplemental groups to the user's own.
func withGroups(gids []uint32, extra []int64) []uint32 {
	for _, g := range extra {
		if !slices.Contains(gids, uint32(g)) {
			gids = append(gids, uint32(g))
		}
	}
	return gids
}

// userSpec picks the user: runAsUser/runAsGroup, then runAsUsername, then the image's.
func userSpec(cfg *Config, imageUser string) string {
	u := imageUser
	if cfg.RunAsUsername != "" {
		u = cfg.RunAsUsername
	}
	if cfg.RunAsUser != nil {
		u = strconv.FormatInt(*cfg.RunAsUser, 10)
	}
	if cfg.RunAsGroup != nil {
		if u == "" {
			u = "0"
		}
		u += ":" + strconv.FormatInt(*cfg.RunAsGroup, 10)
	}
	return u
}

func namespaces(sb *sandbox.Sandbox) oci.Namespaces {
	ns := oci.Namespaces{Network: sb.NamespacePath("net"), UTS: sb.NamespacePath("uts"), IPC: sb.NamespacePath("ipc")}
	if sb.Config.HostNetwork {
		ns.Network, ns.UTS = oci.Host, oci.Host
	}
	if sb.Config.HostIPC {
		ns.IPC = oci.Host
	}
	switch {
	case sb.Config.HostPID:
		ns.PID = oci.Host
	case sb.Config.SharePID:
		ns.PID = sb.NamespacePath("pid")
	}
	return ns
}

// Start starts a created container.
func (m *Manager) Start(id string) error {
	m.mu.Lock()
	c, ok := m.containers[id]
	var state State
	if ok {
		state = c.State // refreshes under the lock may change it
	}
	m.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if state != Created {
		return fmt.Errorf("container %s is %s, not Created", id, state)
	}
	if err := m.rt.Start(id); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c.State, c.StartedAt = Running, time.Now()
	m.refreshLocked(c)
	return m.save(c)
}

// Stop sends SIGTERM, waits up to timeout for the container to exit, then
// kills every process in its cgroup. Stopping an exited container is a no-op.
// When ctx ends during the grace period (the caller went away, e.g. a
// kubelet shutting down) Stop returns ctx's error and leaves the container
// to a later Stop: it was told to terminate and may still be doing so.
func (m *Manager) Stop(ctx context.Context, id string, timeout time.Duration) error {
	c, err := m.Get(id)
	if err != nil {
		return err
	}
	if c.State == Exited {
		return nil
	}
	if c.State == Running && timeout > 0 {
		_ = unix.Kill(c.Pid, unix.SIGTERM)
		if m.waitExit(ctx, c, timeout) {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	m.killAll(c)
	if !m.waitExit(context.WithoutCancel(ctx), c, 10*time.Second) {
		return fmt.Errorf("container %s did not exit after SIGKILL", id)
	}
	return nil
}

// killAll SIGKILLs the container's init and every process left in its cgroup.
func (m *Manager) killAll(c *Container) {
	_ = unix.Kill(c.Pid, unix.SIGKILL)
	if procs, err := m.cfg.Cgroups.Procs(c.Cgroup); err == nil {
		for _, p := range procs {
			_ = unix.Kill(p, unix.SIGKILL)
		}
	}
}

// waitExit polls for the shim's exit record, up to d or until ctx ends.
func (m *Manager) waitExit(ctx context.Context, c *Container, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if got, err := m.Get(c.ID); err == nil && got.State == Exited {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Remove kills the container if it still runs and deletes everything it
// has but its log.
func (m *Manager) Remove(id string) error {
	c, err := m.Get(id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if c.State != Exited {
		if err := m.Stop(context.Background(), id, 0); err != nil {
			return err
		}
	}
	if err := m.cleanup(c); err != nil {
		return err
	}
	m.mu.Lock()
	delete(m.containers, id)
	m.mu.Unlock()
	return nil
}

// cleanup deletes the OCI runtime's state, the cgroup, the rootfs and the bundle,
// once the shim (which exits right after recording the exit) is gone.
func (m *Manager) cleanup(c *Container) error {
	if m.shimAlive(c) && !proc.WaitGone(c.ShimPid, 5*time.Second) && m.shimAlive(c) {
		_ = unix.Kill(c.ShimPid, unix.SIGKILL)
		proc.WaitGone(c.ShimPid, time.Second)
	}
	if err := m.rt.Delete(c.ID); err != nil {
		return err
	}
	if err := m.cfg.Cgroups.Remove(c.Cgroup); err != nil {
		return err
	}
	if err := rootfs.Unmount(filepath.Join(c.Dir, "fs")); err != nil {
		return err
	}
	return os.RemoveAll(c.Dir)
}

// initAlive reports whether the container's init process still runs.
func initAlive(c *Container) bool {
	return proc.Running(c.Pid, c.PidStart)
}

// shimAlive reports whether the container's shim (not a process that
// reused its PID) still runs.
func (m *Manager) shimAlive(c *Container) bool {
	return proc.Running(c.ShimPid, c.ShimStart)
}

// refreshLocked moves a container to Exited once its shim recorded the
// exit, or once both its shim and its init are gone without a record (the
// shim was killed, the machine restarted): the exit status is then
// unknown, reported as code 255, reason Error.
func (m *Manager) refreshLocked(c *Container) {
	if c.State == Exited {
		return
	}
	e, err := shim.ReadExit(c.Dir)
	if err != nil {
		if !os.IsNotExist(err) || m.shimAlive(c) || initAlive(c) {
			return
		}
		if e, err = shim.ReadExit(c.Dir); err != nil { // it may have just written it
			e = &shim.Exit{Code: 255, FinishedAt: time.Now().UTC()}
		}
	}
	c.State, c.ExitCode, c.FinishedAt = Exited, int32(e.Code), e.FinishedAt
	switch {
	case e.OOMKilled:
		c.Reason = ReasonOOMKilled
	case e.Code == 0:
		c.Reason = ReasonCompleted
	default:
		c.Reason = ReasonError
	}
	_ = m.save(c)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}
