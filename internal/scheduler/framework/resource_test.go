package framework

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func container(cpu, mem string) corev1.Container {
	rl := corev1.ResourceList{}
	if cpu != "" {
		rl[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		rl[corev1.ResourceMemory] = resource.MustParse(mem)
	}
	return corev1.Container{Resources: corev1.ResourceRequirements{Requests: rl}}
}

func sidecar(cpu string) corev1.Container {
	c := container(cpu, "")
	always := corev1.ContainerRestartPolicyAlways
	c.RestartPolicy = &always
	return c
}

func TestPodRequests(t *testing.T) {
	tests := []struct {
		name          string
		spec          corev1.PodSpec
		wantCPU       int64
		wantNonZeroCP int64
		wantMem       int64
	}{
		{name: "sum of containers", spec: corev1.PodSpec{Containers: []corev1.Container{container("100m", "1Mi"), container("200m", "1Mi")}},
			wantCPU: 300, wantNonZeroCP: 300, wantMem: 2 << 20},
		{name: "init container larger than the sum wins", spec: corev1.PodSpec{
			InitContainers: []corev1.Container{container("1", "")}, Containers: []corev1.Container{container("100m", ""), container("200m", "")}},
			wantCPU: 1000, wantNonZeroCP: 1000, wantMem: 0},
		{name: "sidecars add to the regular containers and to later init containers", spec: corev1.PodSpec{
			InitContainers: []corev1.Container{sidecar("500m"), container("600m", "")}, Containers: []corev1.Container{container("100m", "")}},
			wantCPU: 1100, wantNonZeroCP: 1100, wantMem: 0},
		{name: "request-less container gets scorer defaults", spec: corev1.PodSpec{Containers: []corev1.Container{{}}},
			wantCPU: 0, wantNonZeroCP: DefaultMilliCPURequest, wantMem: 0},
		{name: "overhead is added", spec: corev1.PodSpec{Containers: []corev1.Container{container("100m", "")},
			Overhead: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m")}},
			wantCPU: 150, wantNonZeroCP: 150},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, nz := PodRequests(&corev1.Pod{Spec: tc.spec})
			if req.MilliCPU != tc.wantCPU || nz.MilliCPU != tc.wantNonZeroCP || req.Memory != tc.wantMem {
				t.Fatalf("cpu %d (non-zero %d), memory %d; want %d (%d), %d", req.MilliCPU, nz.MilliCPU, req.Memory, tc.wantCPU, tc.wantNonZeroCP, tc.wantMem)
			}
		})
	}
}

func TestNormalizeImage(t *testing.T) {
	for in, want := range map[string]string{
		"nginx":                      "docker.io/library/nginx:latest",
		"nginx:1.25":                 "docker.io/library/nginx:1.25",
		"user/app":                   "docker.io/user/app:latest",
		"registry.k8s.io/pause:3.10": "registry.k8s.io/pause:3.10",
		"localhost:5000/x":           "localhost:5000/x:latest",
	} {
		if got := NormalizeImage(in); got != want {
			t.Errorf("NormalizeImage(%q) = %q, want %q", in, got, want)
		}
	}
}
