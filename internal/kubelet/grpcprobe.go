package kubelet

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
)

// grpcProbe asks the gRPC health service and succeeds on SERVING.
func (k *Kubelet) grpcProbe(ctx context.Context, pod *corev1.Pod, g *corev1.GRPCAction, timeout time.Duration) (string, error) {
	addr := net.JoinHostPort(k.probeHost(pod, ""), strconv.Itoa(int(g.Port)))
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) { return k.cfg.Dial(ctx, "tcp", a) }))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	service := ""
	if g.Service != nil {
		service = *g.Service
	}
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		return "", err
	}
	if resp.Status != healthpb.HealthCheckResponse_SERVING {
		return "", fmt.Errorf("service unhealthy (responded with %q)", resp.Status)
	}
	return "", nil
}
