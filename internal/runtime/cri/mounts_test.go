package cri

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestCheckMounts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mount *runtimeapi.Mount
		want  codes.Code
	}{
		{"host path", &runtimeapi.Mount{ContainerPath: "/data", HostPath: "/srv/data"}, codes.OK},
		{"image volume", &runtimeapi.Mount{ContainerPath: "/img", Image: &runtimeapi.ImageSpec{Image: "busybox"}}, codes.Unimplemented},
		{"no host path", &runtimeapi.Mount{ContainerPath: "/empty"}, codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := status.Code(checkMounts([]*runtimeapi.Mount{tc.mount})); got != tc.want {
				t.Errorf("code %s, want %s", got, tc.want)
			}
		})
	}
}
