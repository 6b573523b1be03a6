// Package cri serves klite's runtime through the Container Runtime
// Interface (k8s.io/cri-api v1): RuntimeService (pod sandboxes, containers,
// exec, stats) and ImageService, over the image store, sandbox and container
// managers. The kubelet can use a *Service in-process; Serve exposes it on a
// unix socket for crictl and critest.
//
// Exec, Attach and PortForward hand out URLs on the streaming server
// (package streaming). Methods not implemented yet answer
// codes.Unimplemented (through the embedded Unimplemented servers):
// checkpointing and the Stream* list variants.
package cri

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/klite/klite/internal/runtime/cgroups"
	"github.com/klite/klite/internal/runtime/cni"
	"github.com/klite/klite/internal/runtime/container"
	"github.com/klite/klite/internal/runtime/image"
	"github.com/klite/klite/internal/runtime/network"
	"github.com/klite/klite/internal/runtime/sandbox"
	"github.com/klite/klite/internal/runtime/streaming"
)

// Names reported by Version.
const (
	RuntimeName    = "klite"
	RuntimeVersion = "0.1.0"
	APIVersion     = "v1"
)

// Config configures a Service.
type Config struct {
	// Root holds images/, sandboxes/, containers/ and ipam/.
	Root string
	// RuncPath is an OCI runtime binary (a path, or a name looked up in
	// PATH); "" (the default) is runc's libcontainer compiled into klite.
	// RuncRoot is the runtime's state dir (default /run/klite/runc).
	RuncPath, RuncRoot string
	// Bridge and PodSubnet configure the pod network (default klite0, 10.42.0.0/24).
	Bridge, PodSubnet string
	// HostNetNS is where the bridge lives; empty means klite's own (tests use a private one).
	HostNetNS string
	// CNIConfDir, when it holds a CNI configuration, makes CNI plugins
	// (from CNIBinDirs) connect pods instead of klite's bridge; defaults
	// /etc/cni/net.d and /opt/cni/bin, /usr/lib/cni.
	CNIConfDir string
	CNIBinDirs []string
	// NFTable names klite's nftables table (default "klite").
	NFTable string
	// CgroupRoot is the cgroup parent of all pods (default "/klite").
	CgroupRoot string
	// InsecureRegistries may be pulled from over plain HTTP (loopback always may).
	InsecureRegistries []string
	// RegistryMirrors maps registry hosts to mirrors images are pulled from
	// (see image.Config.Mirrors).
	RegistryMirrors map[string]string
	// StreamAddr is where exec and port-forward URLs point; default 127.0.0.1:0.
	StreamAddr string
	// LogMaxSize and LogMaxFiles rotate container logs (0: never).
	LogMaxSize  int64
	LogMaxFiles int
	Logger      *slog.Logger
}

// Service implements the CRI RuntimeService and ImageService.
type Service struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	runtimeapi.UnimplementedImageServiceServer

	log        *slog.Logger
	images     *image.Store
	cgroups    *cgroups.Manager
	network    *network.Manager
	sandboxes  *sandbox.Manager
	containers *container.Manager
	stream     *streaming.Server
}

var (
	_ runtimeapi.RuntimeServiceServer = (*Service)(nil)
	_ runtimeapi.ImageServiceServer   = (*Service)(nil)
)

// New builds the runtime from cfg, finding the sandboxes and containers a
// previous run left.
func New(cfg Config) (*Service, error) {
	if cfg.Root == "" {
		return nil, errors.New("cri: root directory is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{log: cfg.Logger}
	var err error
	if s.images, err = image.New(image.Config{Root: filepath.Join(cfg.Root, "images"),
		InsecureRegistries: cfg.InsecureRegistries, Mirrors: cfg.RegistryMirrors, Logger: cfg.Logger}); err != nil {
		return nil, err
	}
	if s.cgroups, err = cgroups.Detect(); err != nil {
		return nil, err
	}
	podNet, err := s.podNetwork(cfg)
	if err != nil {
		return nil, err
	}
	if s.sandboxes, err = sandbox.NewManager(sandbox.ManagerConfig{Root: filepath.Join(cfg.Root, "sandboxes"),
		Network: podNet, Cgroups: s.cgroups, CgroupRoot: cfg.CgroupRoot, Logger: cfg.Logger}); err != nil {
		return nil, err
	}
	if s.containers, err = container.NewManager(container.ManagerConfig{Root: filepath.Join(cfg.Root, "containers"),
		RuncPath: cfg.RuncPath, RuncRoot: cfg.RuncRoot, Images: s.images, Cgroups: s.cgroups,
		LogMaxSize: cfg.LogMaxSize, LogMaxFiles: cfg.LogMaxFiles, Logger: cfg.Logger}); err != nil {
		return nil, err
	}
	if s.stream, err = streaming.New(streaming.Config{Addr: cfg.StreamAddr, Runtime: streamRuntime{s}, Logger: cfg.Logger}); err != nil {
		return nil, err
	}
	return s, nil
}

// podNetwork picks CNI plugins when the node has a CNI configuration,
// klite's bridge network otherwise (kept in s.network either way, for
// RemoveNode).
func (s *Service) podNetwork(cfg Config) (sandbox.Network, error) {
	var err error
	if s.network, err = network.New(network.Config{Bridge: cfg.Bridge, Subnet: cfg.PodSubnet,
		StateDir: filepath.Join(cfg.Root, "ipam"), HostNetNS: cfg.HostNetNS, Table: cfg.NFTable, Logger: cfg.Logger}); err != nil {
		return nil, err
	}
	confDir := cfg.CNIConfDir
	if confDir == "" {
		confDir = cni.DefaultConfDir
	}
	if !cni.HasConfig(confDir) {
		return s.network, nil
	}
	c, err := cni.New(cni.Config{ConfDir: confDir, BinDirs: cfg.CNIBinDirs,
		StateDir: filepath.Join(cfg.Root, "cni"), HostNetNS: cfg.HostNetNS})
	if err != nil {
		return nil, err
	}
	s.log.Info("pods use CNI", "network", c.Name(), "confDir", confDir)
	return c, nil
}

// Images returns the image store (for `klite image` commands).
func (s *Service) Images() *image.Store { return s.images }

// Close releases the network handles; sandboxes and containers keep running.
func (s *Service) Close() {
	s.network.Close()
	_ = s.stream.Close()
}

// RemoveNode deletes the node bridge and masquerade rules (uninstall, tests).
func (s *Service) RemoveNode() error { return s.network.RemoveNode() }

// ListenUnix listens on the unix socket at path, replacing a stale one.
func ListenUnix(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("cri: remove stale socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("cri: listen: %w", err)
	}
	return ln, nil
}

// Serve answers CRI calls on ln, and streaming requests on the streaming
// server, until ctx is cancelled; then it stops gracefully (closing ln,
// which removes a unix socket).
func (s *Service) Serve(ctx context.Context, ln net.Listener) error {
	streamDone := make(chan error, 1)
	go func() { streamDone <- s.stream.Start(ctx) }()
	err := s.serveGRPC(ctx, ln)
	return errors.Join(err, <-streamDone)
}

func (s *Service) serveGRPC(ctx context.Context, ln net.Listener) error {
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(16<<20), grpc.MaxSendMsgSize(16<<20))
	runtimeapi.RegisterRuntimeServiceServer(srv, s)
	runtimeapi.RegisterImageServiceServer(srv, s)
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		srv.GracefulStop()
	}()
	s.log.Info("cri runtime serving", "address", ln.Addr().String())
	err := srv.Serve(ln)
	<-done
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Version reports the runtime's name and versions.
func (s *Service) Version(context.Context, *runtimeapi.VersionRequest) (*runtimeapi.VersionResponse, error) {
	return &runtimeapi.VersionResponse{Version: "0.1.0", RuntimeName: RuntimeName,
		RuntimeVersion: RuntimeVersion, RuntimeApiVersion: APIVersion}, nil
}

// Status reports the runtime and its network ready.
func (s *Service) Status(context.Context, *runtimeapi.StatusRequest) (*runtimeapi.StatusResponse, error) {
	return &runtimeapi.StatusResponse{Status: &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{
		{Type: runtimeapi.RuntimeReady, Status: true},
		{Type: runtimeapi.NetworkReady, Status: true},
	}}}, nil
}

// RuntimeConfig tells the kubelet how pods' cgroups are managed: by path
// under the cgroup filesystem (klite never asks systemd for them).
func (s *Service) RuntimeConfig(context.Context, *runtimeapi.RuntimeConfigRequest) (*runtimeapi.RuntimeConfigResponse, error) {
	return &runtimeapi.RuntimeConfigResponse{Linux: &runtimeapi.LinuxRuntimeConfiguration{
		CgroupDriver: runtimeapi.CgroupDriver_CGROUPFS}}, nil
}

// grpcError maps not-found errors to codes.NotFound.
func grpcError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sandbox.ErrNotFound), errors.Is(err, container.ErrNotFound), errors.Is(err, image.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	default:
		return status.Error(codes.Unknown, err.Error())
	}
}
