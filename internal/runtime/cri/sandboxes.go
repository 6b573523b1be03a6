package cri

import (
	"context"
	"strings"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/klite/klite/internal/runtime/cgroups"
	"github.com/klite/klite/internal/runtime/network"
	"github.com/klite/klite/internal/runtime/sandbox"
)

// RunPodSandbox starts a pod sandbox.
func (s *Service) RunPodSandbox(_ context.Context, req *runtimeapi.RunPodSandboxRequest) (*runtimeapi.RunPodSandboxResponse, error) {
	sb, err := s.sandboxes.Run(sandboxConfig(req.GetConfig()))
	if err != nil {
		return nil, grpcError(err)
	}
	return &runtimeapi.RunPodSandboxResponse{PodSandboxId: sb.ID}, nil
}

func sandboxConfig(c *runtimeapi.PodSandboxConfig) sandbox.Config {
	md := c.GetMetadata()
	ns := c.GetLinux().GetSecurityContext().GetNamespaceOptions()
	cfg := sandbox.Config{
		Name: md.GetName(), Namespace: md.GetNamespace(), UID: md.GetUid(), Attempt: md.GetAttempt(),
		Hostname:     c.GetHostname(),
		HostNetwork:  ns.GetNetwork() == runtimeapi.NamespaceMode_NODE,
		HostIPC:      ns.GetIpc() == runtimeapi.NamespaceMode_NODE,
		HostPID:      ns.GetPid() == runtimeapi.NamespaceMode_NODE,
		SharePID:     ns.GetPid() == runtimeapi.NamespaceMode_POD,
		QoS:          qosOf(c.GetLinux().GetCgroupParent()),
		LogDirectory: c.GetLogDirectory(), Sysctls: c.GetLinux().GetSysctls(),
		PortMappings: portMappings(c.GetPortMappings()),
		Labels:       c.GetLabels(), Annotations: c.GetAnnotations(),
	}
	if r := c.GetLinux().GetResources(); r != nil {
		cfg.Resources = cgroups.Resources{MemoryLimit: r.GetMemoryLimitInBytes(), CPUShares: uint64(r.GetCpuShares()),
			CPUQuota: r.GetCpuQuota(), CPUPeriod: uint64(r.GetCpuPeriod())}
	}
	if d := c.GetDnsConfig(); d != nil {
		cfg.DNS = sandbox.DNS{Servers: d.GetServers(), Searches: d.GetSearches(), Options: d.GetOptions()}
	}
	return cfg
}

// portMappings converts the CRI's port mappings.
func portMappings(in []*runtimeapi.PortMapping) []network.PortMapping {
	var out []network.PortMapping
	for _, p := range in {
		out = append(out, network.PortMapping{Protocol: strings.ToLower(p.GetProtocol().String()),
			ContainerPort: p.GetContainerPort(), HostPort: p.GetHostPort(), HostIP: p.GetHostIp()})
	}
	return out
}

// qosOf reads the QoS class from the kubelet's cgroup parent name.
func qosOf(parent string) sandbox.QoS {
	p := strings.ToLower(parent)
	switch {
	case strings.Contains(p, "besteffort"):
		return sandbox.BestEffort
	case strings.Contains(p, "burstable"), p == "":
		return sandbox.Burstable
	default:
		return sandbox.Guaranteed
	}
}

// StopPodSandbox kills the sandbox's containers and stops it.
func (s *Service) StopPodSandbox(ctx context.Context, req *runtimeapi.StopPodSandboxRequest) (*runtimeapi.StopPodSandboxResponse, error) {
	id := s.resolveSandbox(req.GetPodSandboxId())
	if _, err := s.sandboxes.Get(id); err != nil {
		return &runtimeapi.StopPodSandboxResponse{}, nil // already gone is stopped
	}
	for _, c := range s.containers.ListSandbox(id) {
		if err := s.containers.Stop(ctx, c.ID, 0); err != nil {
			return nil, grpcError(err)
		}
	}
	if err := s.sandboxes.Stop(id); err != nil {
		return nil, grpcError(err)
	}
	return &runtimeapi.StopPodSandboxResponse{}, nil
}

// RemovePodSandbox removes the sandbox's containers and the sandbox.
func (s *Service) RemovePodSandbox(_ context.Context, req *runtimeapi.RemovePodSandboxRequest) (*runtimeapi.RemovePodSandboxResponse, error) {
	id := s.resolveSandbox(req.GetPodSandboxId())
	for _, c := range s.containers.ListSandbox(id) {
		if err := s.containers.Remove(c.ID); err != nil {
			return nil, grpcError(err)
		}
	}
	if err := s.sandboxes.Remove(id); err != nil {
		return nil, grpcError(err)
	}
	return &runtimeapi.RemovePodSandboxResponse{}, nil
}

// PodSandboxStatus reports one sandbox.
func (s *Service) PodSandboxStatus(_ context.Context, req *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	sb, err := s.sandboxes.Get(s.resolveSandbox(req.GetPodSandboxId()))
	if err != nil {
		return nil, grpcError(err)
	}
	st := &runtimeapi.PodSandboxStatus{
		Id: sb.ID, Metadata: sandboxMetadata(sb), State: sandboxState(sb), CreatedAt: sb.CreatedAt.UnixNano(),
		Network: &runtimeapi.PodSandboxNetworkStatus{Ip: sb.IP},
		Linux: &runtimeapi.LinuxPodSandboxStatus{Namespaces: &runtimeapi.Namespace{Options: &runtimeapi.NamespaceOption{
			Network: nsMode(sb.Config.HostNetwork, false), Ipc: nsMode(sb.Config.HostIPC, false),
			Pid: nsMode(sb.Config.HostPID, !sb.Config.SharePID)}}},
		Labels: sb.Config.Labels, Annotations: sb.Config.Annotations,
	}
	return &runtimeapi.PodSandboxStatusResponse{Status: st}, nil
}

func nsMode(host, perContainer bool) runtimeapi.NamespaceMode {
	switch {
	case host:
		return runtimeapi.NamespaceMode_NODE
	case perContainer:
		return runtimeapi.NamespaceMode_CONTAINER
	default:
		return runtimeapi.NamespaceMode_POD
	}
}

// ListPodSandbox lists sandboxes matching the filter.
func (s *Service) ListPodSandbox(_ context.Context, req *runtimeapi.ListPodSandboxRequest) (*runtimeapi.ListPodSandboxResponse, error) {
	f := req.GetFilter()
	var out []*runtimeapi.PodSandbox
	for _, sb := range s.sandboxes.List() {
		state := sandboxState(sb)
		switch {
		case f.GetId() != "" && !strings.HasPrefix(sb.ID, f.GetId()):
			continue
		case f.GetState() != nil && f.GetState().GetState() != state:
			continue
		case !labelsMatch(sb.Config.Labels, f.GetLabelSelector()):
			continue
		}
		out = append(out, &runtimeapi.PodSandbox{Id: sb.ID, Metadata: sandboxMetadata(sb), State: state,
			CreatedAt: sb.CreatedAt.UnixNano(), Labels: sb.Config.Labels, Annotations: sb.Config.Annotations})
	}
	return &runtimeapi.ListPodSandboxResponse{Items: out}, nil
}

// resolveSandbox expands a unique ID prefix (as crictl passes) to the full ID.
func (s *Service) resolveSandbox(id string) string { return resolveID(s.sandboxes.IDs(), id) }

// resolveID expands an unambiguous ID prefix (as crictl accepts) to the full ID among ids; an
// exact, ambiguous or unknown id is returned as given.
func resolveID(ids []string, id string) string {
	var match string
	for _, full := range ids {
		if full == id {
			return id
		}
		if strings.HasPrefix(full, id) {
			if match != "" {
				return id
			}
			match = full
		}
	}
	if match == "" {
		return id
	}
	return match
}

func sandboxMetadata(sb *sandbox.Sandbox) *runtimeapi.PodSandboxMetadata {
	return &runtimeapi.PodSandboxMetadata{Name: sb.Config.Name, Uid: sb.Config.UID,
		Namespace: sb.Config.Namespace, Attempt: sb.Config.Attempt}
}

func sandboxState(sb *sandbox.Sandbox) runtimeapi.PodSandboxState {
	if sb.State == sandbox.Ready {
		return runtimeapi.PodSandboxState_SANDBOX_READY
	}
	return runtimeapi.PodSandboxState_SANDBOX_NOTREADY
}

func labelsMatch(labels, selector map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
