package cri

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/klite/klite/internal/runtime/container"
	"github.com/klite/klite/internal/runtime/oci"
)

// CreateContainer creates a container in a sandbox.
func (s *Service) CreateContainer(_ context.Context, req *runtimeapi.CreateContainerRequest) (*runtimeapi.CreateContainerResponse, error) {
	sb, err := s.sandboxes.Get(s.resolveSandbox(req.GetPodSandboxId()))
	if err != nil {
		return nil, grpcError(err)
	}
	if sc := req.GetConfig().GetLinux().GetSecurityContext(); sc.GetRunAsGroup() != nil && sc.GetRunAsUser() == nil && sc.GetRunAsUsername() == "" {
		return nil, status.Error(codes.InvalidArgument, "runAsGroup is set without runAsUser or runAsUsername")
	}
	if err := checkMounts(req.GetConfig().GetMounts()); err != nil {
		return nil, err
	}
	cfg := containerConfig(req.GetConfig())
	if cfg.LogPath != "" && sb.Config.LogDirectory != "" && !filepath.IsAbs(cfg.LogPath) {
		cfg.LogPath = filepath.Join(sb.Config.LogDirectory, cfg.LogPath)
	}
	c, err := s.containers.Create(cfg, sb)
	if err != nil {
		return nil, grpcError(err)
	}
	return &runtimeapi.CreateContainerResponse{ContainerId: c.ID}, nil
}

// checkMounts refuses image volumes (not supported: Unimplemented, so that
// clients know) and mounts without a host path.
func checkMounts(mounts []*runtimeapi.Mount) error {
	for _, m := range mounts {
		switch {
		case m.GetImage().GetImage() != "":
			return status.Errorf(codes.Unimplemented, "mount %s: image volumes are not supported", m.GetContainerPath())
		case m.GetHostPath() == "":
			return status.Errorf(codes.InvalidArgument, "mount %s has no host path", m.GetContainerPath())
		}
	}
	return nil
}

// propagations maps the CRI's mount propagation onto the OCI runtime's.
var propagations = map[runtimeapi.MountPropagation]string{
	runtimeapi.MountPropagation_PROPAGATION_PRIVATE:           "rprivate",
	runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER: "rslave",
	runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL:     "rshared",
}

func propagationOf(p string) runtimeapi.MountPropagation {
	for k, v := range propagations {
		if v == p {
			return k
		}
	}
	return runtimeapi.MountPropagation_PROPAGATION_PRIVATE
}

func containerConfig(c *runtimeapi.ContainerConfig) container.Config {
	sc := c.GetLinux().GetSecurityContext()
	r := c.GetLinux().GetResources()
	cfg := container.Config{
		Name: c.GetMetadata().GetName(), Attempt: c.GetMetadata().GetAttempt(),
		Image: c.GetImage().GetImage(), Command: c.GetCommand(), Args: c.GetArgs(), WorkingDir: c.GetWorkingDir(),
		LogPath: c.GetLogPath(), Labels: c.GetLabels(), Annotations: c.GetAnnotations(),
		Resources: oci.Resources{MemoryLimit: r.GetMemoryLimitInBytes(), CPUShares: uint64(r.GetCpuShares()),
			CPUQuota: r.GetCpuQuota(), CPUPeriod: uint64(r.GetCpuPeriod())},
		Stdin: c.GetStdin(), StdinOnce: c.GetStdinOnce(), TTY: c.GetTty(),
		RunAsUsername: sc.GetRunAsUsername(), ReadOnlyRootfs: sc.GetReadonlyRootfs(), Privileged: sc.GetPrivileged(),
		NoNewPrivs: sc.GetNoNewPrivs(),
		CapAdd:     sc.GetCapabilities().GetAddCapabilities(), CapDrop: sc.GetCapabilities().GetDropCapabilities(),
		SupplementalGroups: sc.GetSupplementalGroups(),
	}
	if len(sc.GetMaskedPaths()) > 0 || len(sc.GetReadonlyPaths()) > 0 { // the kubelet sends the defaults; empty means ours
		cfg.MaskedPaths, cfg.ReadonlyPaths = sc.GetMaskedPaths(), sc.GetReadonlyPaths()
	}
	switch p := sc.GetSeccomp(); p.GetProfileType() {
	case runtimeapi.SecurityProfile_RuntimeDefault:
		cfg.Seccomp = p != nil
	case runtimeapi.SecurityProfile_Localhost:
		cfg.SeccompProfile = p.GetLocalhostRef()
	}
	if r != nil && r.GetOomScoreAdj() != 0 {
		adj := int(r.GetOomScoreAdj())
		cfg.Resources.OOMScoreAdj = &adj
	}
	if u := sc.GetRunAsUser(); u != nil {
		v := u.GetValue()
		cfg.RunAsUser = &v
	}
	if g := sc.GetRunAsGroup(); g != nil {
		v := g.GetValue()
		cfg.RunAsGroup = &v
	}
	for _, kv := range c.GetEnvs() {
		cfg.Env = append(cfg.Env, kv.GetKey()+"="+string(kv.GetValue()))
	}
	for _, m := range c.GetMounts() {
		cfg.Mounts = append(cfg.Mounts, oci.Mount{HostPath: m.GetHostPath(), ContainerPath: m.GetContainerPath(),
			ReadOnly: m.GetReadonly(), Propagation: propagations[m.GetPropagation()]})
	}
	return cfg
}

// StartContainer starts a created container.
func (s *Service) StartContainer(_ context.Context, req *runtimeapi.StartContainerRequest) (*runtimeapi.StartContainerResponse, error) {
	if err := s.containers.Start(s.resolveContainer(req.GetContainerId())); err != nil {
		return nil, grpcError(err)
	}
	return &runtimeapi.StartContainerResponse{}, nil
}

// StopContainer stops a container: SIGTERM, then SIGKILL after the timeout.
func (s *Service) StopContainer(ctx context.Context, req *runtimeapi.StopContainerRequest) (*runtimeapi.StopContainerResponse, error) {
	err := s.containers.Stop(ctx, s.resolveContainer(req.GetContainerId()), time.Duration(req.GetTimeout())*time.Second)
	if err != nil && !errors.Is(err, container.ErrNotFound) { // stopping a gone container is done (the CRI's idempotence)
		return nil, grpcError(err)
	}
	return &runtimeapi.StopContainerResponse{}, nil
}

// RemoveContainer removes a container, killing it first if it runs.
func (s *Service) RemoveContainer(_ context.Context, req *runtimeapi.RemoveContainerRequest) (*runtimeapi.RemoveContainerResponse, error) {
	if err := s.containers.Remove(s.resolveContainer(req.GetContainerId())); err != nil {
		return nil, grpcError(err)
	}
	return &runtimeapi.RemoveContainerResponse{}, nil
}

// ListContainers lists containers matching the filter.
func (s *Service) ListContainers(_ context.Context, req *runtimeapi.ListContainersRequest) (*runtimeapi.ListContainersResponse, error) {
	f := req.GetFilter()
	var out []*runtimeapi.Container
	for _, c := range s.containers.List() {
		state := containerState(c)
		switch {
		case f.GetId() != "" && !strings.HasPrefix(c.ID, f.GetId()):
			continue
		case f.GetPodSandboxId() != "" && !strings.HasPrefix(c.SandboxID, f.GetPodSandboxId()):
			continue
		case f.GetState() != nil && f.GetState().GetState() != state:
			continue
		case !labelsMatch(c.Config.Labels, f.GetLabelSelector()):
			continue
		}
		out = append(out, &runtimeapi.Container{Id: c.ID, PodSandboxId: c.SandboxID, Metadata: containerMetadata(c),
			Image: &runtimeapi.ImageSpec{Image: c.Config.Image}, ImageRef: c.ImageID, ImageId: c.ImageID,
			State: state, CreatedAt: c.CreatedAt.UnixNano(), Labels: c.Config.Labels, Annotations: c.Config.Annotations})
	}
	return &runtimeapi.ListContainersResponse{Containers: out}, nil
}

// ContainerStatus reports one container.
func (s *Service) ContainerStatus(_ context.Context, req *runtimeapi.ContainerStatusRequest) (*runtimeapi.ContainerStatusResponse, error) {
	c, err := s.containers.Get(s.resolveContainer(req.GetContainerId()))
	if err != nil {
		return nil, grpcError(err)
	}
	st := &runtimeapi.ContainerStatus{
		Id: c.ID, Metadata: containerMetadata(c), State: containerState(c),
		CreatedAt: c.CreatedAt.UnixNano(), StartedAt: nanos(c.StartedAt), FinishedAt: nanos(c.FinishedAt),
		ExitCode: c.ExitCode, Reason: c.Reason,
		Image: &runtimeapi.ImageSpec{Image: c.Config.Image}, ImageRef: c.ImageID, ImageId: c.ImageID,
		Labels: c.Config.Labels, Annotations: c.Config.Annotations, LogPath: c.LogPath,
	}
	for _, m := range c.Config.Mounts {
		st.Mounts = append(st.Mounts, &runtimeapi.Mount{ContainerPath: m.ContainerPath, HostPath: m.HostPath, Readonly: m.ReadOnly,
			Propagation: propagationOf(m.Propagation)})
	}
	return &runtimeapi.ContainerStatusResponse{Status: st}, nil
}

// ReopenContainerLog makes the container's shim reopen its log file.
func (s *Service) ReopenContainerLog(_ context.Context, req *runtimeapi.ReopenContainerLogRequest) (*runtimeapi.ReopenContainerLogResponse, error) {
	if err := s.containers.ReopenLog(s.resolveContainer(req.GetContainerId())); err != nil {
		return nil, grpcError(err)
	}
	return &runtimeapi.ReopenContainerLogResponse{}, nil
}

// ExecSync runs a command in a container and returns its output.
func (s *Service) ExecSync(ctx context.Context, req *runtimeapi.ExecSyncRequest) (*runtimeapi.ExecSyncResponse, error) {
	res, err := s.containers.Exec(ctx, s.resolveContainer(req.GetContainerId()), req.GetCmd(), time.Duration(req.GetTimeout())*time.Second)
	if err != nil {
		if ctx.Err() == nil && strings.Contains(err.Error(), "deadline exceeded") {
			return nil, status.Error(codes.DeadlineExceeded, err.Error())
		}
		return nil, grpcError(err)
	}
	return &runtimeapi.ExecSyncResponse{Stdout: res.Stdout, Stderr: res.Stderr, ExitCode: int32(res.ExitCode)}, nil
}

func (s *Service) resolveContainer(id string) string { return resolveID(s.containers.IDs(), id) }

func containerMetadata(c *container.Container) *runtimeapi.ContainerMetadata {
	return &runtimeapi.ContainerMetadata{Name: c.Config.Name, Attempt: c.Config.Attempt}
}

func containerState(c *container.Container) runtimeapi.ContainerState {
	switch c.State {
	case container.Created:
		return runtimeapi.ContainerState_CONTAINER_CREATED
	case container.Running:
		return runtimeapi.ContainerState_CONTAINER_RUNNING
	case container.Exited:
		return runtimeapi.ContainerState_CONTAINER_EXITED
	default:
		return runtimeapi.ContainerState_CONTAINER_UNKNOWN
	}
}

// UpdateContainerResources changes a running container's cgroup limits.
func (s *Service) UpdateContainerResources(_ context.Context, req *runtimeapi.UpdateContainerResourcesRequest) (*runtimeapi.UpdateContainerResourcesResponse, error) {
	r := req.GetLinux()
	err := s.containers.UpdateResources(s.resolveContainer(req.GetContainerId()), oci.Resources{
		MemoryLimit: r.GetMemoryLimitInBytes(), CPUShares: uint64(r.GetCpuShares()),
		CPUQuota: r.GetCpuQuota(), CPUPeriod: uint64(r.GetCpuPeriod())})
	if err != nil {
		return nil, grpcError(err)
	}
	return &runtimeapi.UpdateContainerResourcesResponse{}, nil
}
