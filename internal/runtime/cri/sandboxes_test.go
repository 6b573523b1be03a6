package cri

import (
	"reflect"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/klite/klite/internal/runtime/network"
)

func TestSandboxPortMappings(t *testing.T) {
	tests := []struct {
		name string
		in   []*runtimeapi.PortMapping
		want []network.PortMapping
	}{
		{name: "none"},
		{name: "container port only", in: []*runtimeapi.PortMapping{{ContainerPort: 80}},
			want: []network.PortMapping{{Protocol: "tcp", ContainerPort: 80}}},
		{name: "host port, protocol and IP", in: []*runtimeapi.PortMapping{
			{Protocol: runtimeapi.Protocol_UDP, ContainerPort: 53, HostPort: 5353, HostIp: "127.0.0.1"},
			{Protocol: runtimeapi.Protocol_SCTP, ContainerPort: 9, HostPort: 9009}},
			want: []network.PortMapping{{Protocol: "udp", ContainerPort: 53, HostPort: 5353, HostIP: "127.0.0.1"},
				{Protocol: "sctp", ContainerPort: 9, HostPort: 9009}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := sandboxConfig(&runtimeapi.PodSandboxConfig{PortMappings: tc.in}).PortMappings
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("port mappings = %+v, want %+v", got, tc.want)
			}
		})
	}
}
