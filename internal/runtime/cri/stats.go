package cri

import (
	"context"
	"path/filepath"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/klite/klite/internal/runtime/cgroups"
	"github.com/klite/klite/internal/runtime/container"
	"github.com/klite/klite/internal/runtime/rootfs"
	"github.com/klite/klite/internal/runtime/sandbox"
)

// ContainerStats reports one container's resource usage.
func (s *Service) ContainerStats(_ context.Context, req *runtimeapi.ContainerStatsRequest) (*runtimeapi.ContainerStatsResponse, error) {
	c, err := s.containers.Get(s.resolveContainer(req.GetContainerId()))
	if err != nil {
		return nil, grpcError(err)
	}
	return &runtimeapi.ContainerStatsResponse{Stats: s.containerStats(c)}, nil
}

// ListContainerStats reports the usage of running containers matching the filter.
func (s *Service) ListContainerStats(_ context.Context, req *runtimeapi.ListContainerStatsRequest) (*runtimeapi.ListContainerStatsResponse, error) {
	f := req.GetFilter()
	var out []*runtimeapi.ContainerStats
	for _, c := range s.containers.List() {
		if c.State != container.Running || (f.GetId() != "" && c.ID != f.GetId()) ||
			(f.GetPodSandboxId() != "" && c.SandboxID != f.GetPodSandboxId()) || !labelsMatch(c.Config.Labels, f.GetLabelSelector()) {
			continue
		}
		out = append(out, s.containerStats(c))
	}
	return &runtimeapi.ListContainerStatsResponse{Stats: out}, nil
}

func (s *Service) containerStats(c *container.Container) *runtimeapi.ContainerStats {
	now := time.Now().UnixNano()
	st := &runtimeapi.ContainerStats{Attributes: &runtimeapi.ContainerAttributes{Id: c.ID, Metadata: containerMetadata(c),
		Labels: c.Config.Labels, Annotations: c.Config.Annotations}}
	if cs, err := s.cgroups.Stats(c.Cgroup); err == nil {
		st.Cpu, st.Memory = cpuMem(cs, now)
	}
	fsDir := filepath.Join(c.Dir, "fs")
	if b, n, err := rootfs.Usage(fsDir); err == nil {
		st.WritableLayer = &runtimeapi.FilesystemUsage{Timestamp: now, FsId: &runtimeapi.FilesystemIdentifier{Mountpoint: fsDir},
			UsedBytes: &runtimeapi.UInt64Value{Value: b}, InodesUsed: &runtimeapi.UInt64Value{Value: n}}
	}
	return st
}

func cpuMem(cs cgroups.Stats, now int64) (*runtimeapi.CpuUsage, *runtimeapi.MemoryUsage) {
	return &runtimeapi.CpuUsage{Timestamp: now, UsageCoreNanoSeconds: &runtimeapi.UInt64Value{Value: cs.CPUUsageNanos}},
		&runtimeapi.MemoryUsage{Timestamp: now, WorkingSetBytes: &runtimeapi.UInt64Value{Value: cs.MemoryWorkingSet},
			UsageBytes: &runtimeapi.UInt64Value{Value: cs.MemoryUsage}}
}

// PodSandboxStats reports one sandbox's usage, its containers' included.
func (s *Service) PodSandboxStats(_ context.Context, req *runtimeapi.PodSandboxStatsRequest) (*runtimeapi.PodSandboxStatsResponse, error) {
	sb, err := s.sandboxes.Get(s.resolveSandbox(req.GetPodSandboxId()))
	if err != nil {
		return nil, grpcError(err)
	}
	return &runtimeapi.PodSandboxStatsResponse{Stats: s.sandboxStats(sb)}, nil
}

// ListPodSandboxStats reports the usage of ready sandboxes matching the filter.
func (s *Service) ListPodSandboxStats(_ context.Context, req *runtimeapi.ListPodSandboxStatsRequest) (*runtimeapi.ListPodSandboxStatsResponse, error) {
	f := req.GetFilter()
	var out []*runtimeapi.PodSandboxStats
	for _, sb := range s.sandboxes.List() {
		if sb.State != sandbox.Ready || (f.GetId() != "" && sb.ID != f.GetId()) || !labelsMatch(sb.Config.Labels, f.GetLabelSelector()) {
			continue
		}
		out = append(out, s.sandboxStats(sb))
	}
	return &runtimeapi.ListPodSandboxStatsResponse{Stats: out}, nil
}

func (s *Service) sandboxStats(sb *sandbox.Sandbox) *runtimeapi.PodSandboxStats {
	now := time.Now().UnixNano()
	linux := &runtimeapi.LinuxPodSandboxStats{}
	if cs, err := s.cgroups.Stats(sb.Cgroup); err == nil {
		linux.Cpu, linux.Memory = cpuMem(cs, now)
		linux.Process = &runtimeapi.ProcessUsage{Timestamp: now, ProcessCount: &runtimeapi.UInt64Value{Value: cs.Pids}}
	}
	for _, c := range s.containers.ListSandbox(sb.ID) {
		if c.State == container.Running {
			linux.Containers = append(linux.Containers, s.containerStats(c))
		}
	}
	return &runtimeapi.PodSandboxStats{Attributes: &runtimeapi.PodSandboxAttributes{Id: sb.ID, Metadata: sandboxMetadata(sb),
		Labels: sb.Config.Labels, Annotations: sb.Config.Annotations}, Linux: linux}
}
