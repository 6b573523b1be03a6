package defaults

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// storedService is a NodePort service as the API server stored it.
func storedService() *corev1.Service {
	s := &corev1.Service{Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeNodePort, ClusterIP: "10.43.0.10", Selector: map[string]string{"app": "web"},
		Ports: []corev1.ServicePort{{Name: "http", Port: 80, NodePort: 30080}, {Name: "https", Port: 443, NodePort: 30443}},
	}}
	Apply(s)
	return s
}

func TestApplyUpdateService(t *testing.T) {
	cases := []struct {
		name   string
		update func(*corev1.Service)
		want   func(*corev1.Service)
	}{
		{
			name: "replace without allocated values keeps them",
			update: func(s *corev1.Service) {
				s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil
				s.Spec.Ports[0].NodePort, s.Spec.Ports[1].NodePort = 0, 0
			},
			want: func(*corev1.Service) {},
		},
		{
			name:   "switch to ClusterIP drops node ports and external traffic policy",
			update: func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeClusterIP },
			want: func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeClusterIP
				s.Spec.Ports[0].NodePort, s.Spec.Ports[1].NodePort = 0, 0
				s.Spec.ExternalTrafficPolicy = ""
			},
		},
		{
			name: "switch to ClusterIP keeps a node port the client changed",
			update: func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeClusterIP
				s.Spec.Ports[0].NodePort = 31000
			},
			want: func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeClusterIP
				s.Spec.Ports[0].NodePort = 31000
				s.Spec.ExternalTrafficPolicy = ""
			},
		},
		{
			name: "switch to ExternalName drops the IP fields",
			update: func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeExternalName
				s.Spec.ExternalName = "example.com"
			},
			want: func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeExternalName
				s.Spec.ExternalName = "example.com"
				s.Spec.ClusterIP, s.Spec.ClusterIPs, s.Spec.IPFamilies, s.Spec.IPFamilyPolicy = "", nil, nil, nil
				s.Spec.Ports[0].NodePort, s.Spec.Ports[1].NodePort = 0, 0
				s.Spec.ExternalTrafficPolicy = ""
			},
		},
		{
			name: "new port gets no stolen node port",
			update: func(s *corev1.Service) {
				s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "metrics", Port: 9090, TargetPort: intstr.FromInt32(9090), Protocol: corev1.ProtocolTCP})
			},
			want: func(s *corev1.Service) {
				s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "metrics", Port: 9090, TargetPort: intstr.FromInt32(9090), Protocol: corev1.ProtocolTCP})
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			old := storedService()
			got := old.DeepCopy()
			tc.update(got)
			ApplyUpdate(got, old)
			want := storedService()
			tc.want(want)
			if !equality.Semantic.DeepEqual(got, want) {
				t.Errorf("ApplyUpdate mismatch (-want +got):\n%s", cmp.Diff(want, got))
			}
		})
	}
}

func TestApplyUpdateOtherKindsOnlyDefaults(t *testing.T) {
	got := &corev1.Secret{}
	ApplyUpdate(got, &corev1.Secret{Type: corev1.SecretTypeTLS})
	if got.Type != corev1.SecretTypeOpaque {
		t.Fatalf("type = %q, want Opaque from defaulting", got.Type)
	}
}
