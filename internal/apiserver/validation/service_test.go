package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func svc(mods ...func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{ObjectMeta: objectMeta("web"), Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "web"},
		Ports:    []corev1.ServicePort{{Port: 80}},
	}}
	for _, m := range mods {
		m(s)
	}
	return defaulted(s)
}

func withType(t corev1.ServiceType) func(*corev1.Service) {
	return func(s *corev1.Service) { s.Spec.Type = t }
}

func TestValidateServiceCreate(t *testing.T) {
	runCases(t, create, []errCase{
		{name: "valid cluster IP", obj: svc()},
		{name: "valid node port", obj: svc(withType(corev1.ServiceTypeNodePort), func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30080 })},
		{name: "valid load balancer", obj: svc(withType(corev1.ServiceTypeLoadBalancer))},
		{name: "valid headless without ports", obj: svc(func(s *corev1.Service) { s.Spec.ClusterIP = "None"; s.Spec.Ports = nil })},
		{name: "valid external name", obj: svc(withType(corev1.ServiceTypeExternalName), func(s *corev1.Service) {
			s.Spec.ExternalName = "db.example.com."
			s.Spec.Ports = nil
		})},
		{name: "name must be a DNS-1035 label", obj: svc(func(s *corev1.Service) { s.Name = "1web" }), want: []wantErr{invalid("metadata.name")}},
		{name: "ports required", obj: svc(func(s *corev1.Service) { s.Spec.Ports = nil }), want: []wantErr{required("spec.ports")}},
		{name: "port names required and unique when several", obj: svc(func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Port: 80}, {Name: "a", Port: 81}, {Name: "a", Port: 82}}
		}), want: []wantErr{required("spec.ports[0].name"), duplicate("spec.ports[2].name")}},
		{name: "port and protocol unique", obj: svc(func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Name: "a", Port: 80}, {Name: "b", Port: 80}, {Name: "c", Port: 80, Protocol: corev1.ProtocolUDP}}
		}), want: []wantErr{duplicate("spec.ports[1]")}},
		{name: "port range and target port", obj: svc(func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Port: 0, TargetPort: intstr.FromString("Not_A_Name")}}
		}), want: []wantErr{invalid("spec.ports[0].port"), invalid("spec.ports[0].targetPort")}},
		{name: "node port only for NodePort and LoadBalancer", obj: svc(func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30000 }),
			want: []wantErr{forbidden("spec.ports[0].nodePort").with("may not be used when `type` is 'ClusterIP'")}},
		{name: "headless only for ClusterIP", obj: svc(withType(corev1.ServiceTypeNodePort), func(s *corev1.Service) { s.Spec.ClusterIP = "None" }),
			want: []wantErr{invalid("spec.clusterIPs[0]").with("may not be set to 'None' for NodePort services")}},
		{name: "external name required", obj: svc(withType(corev1.ServiceTypeExternalName)), want: []wantErr{required("spec.externalName")}},
		{name: "external name may not have a cluster IP", obj: svc(withType(corev1.ServiceTypeExternalName), func(s *corev1.Service) {
			s.Spec.ExternalName = "x.example.com"
			s.Spec.ClusterIP = "10.43.0.5"
		}), want: []wantErr{forbidden("spec.clusterIPs")}},
		{name: "unknown type", obj: svc(withType("Magic")), want: []wantErr{notSupported("spec.type")}},
		{name: "bad cluster IP and external IP", obj: svc(func(s *corev1.Service) {
			s.Spec.ClusterIP = "10.43.0.300"
			s.Spec.ExternalIPs = []string{"nope"}
		}), want: []wantErr{invalid("spec.clusterIPs[0]"), invalid("spec.externalIPs[0]")}},
		{name: "bad selector", obj: svc(func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "no spaces"} }),
			want: []wantErr{invalid("spec.selector")}},
		{name: "session affinity", obj: svc(func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr(int32(90000))}}
		}), want: []wantErr{invalid("spec.sessionAffinityConfig.clientIP.timeoutSeconds")}},
		{name: "external traffic policy needs external access", obj: svc(func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal }),
			want: []wantErr{invalid("spec.externalTrafficPolicy")}},
		{name: "source ranges only for load balancers", obj: svc(func(s *corev1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"} }),
			want: []wantErr{forbidden("spec.LoadBalancerSourceRanges")}},
	})
}

func TestValidateServiceUpdate(t *testing.T) {
	allocated := svc(func(s *corev1.Service) { s.Spec.ClusterIP = "10.43.0.10" })
	nodePortSvc := svc(withType(corev1.ServiceTypeNodePort), func(s *corev1.Service) {
		s.Spec.ClusterIP = "10.43.0.10"
		s.Spec.Ports[0].NodePort = 30080
	})
	runCases(t, ValidateUpdate, []errCase{
		{name: "ports may change", old: allocated, obj: svc(func(s *corev1.Service) {
			s.Spec.ClusterIP = "10.43.0.10"
			s.Spec.Ports[0].Port = 8080
		})},
		{name: "cluster IP may not change", old: allocated, obj: svc(func(s *corev1.Service) { s.Spec.ClusterIP = "10.43.0.11" }),
			want: []wantErr{invalid("spec.clusterIPs[0]").with("may not change once set")}},
		{name: "cluster IP left empty keeps the allocated one", old: allocated, obj: svc()},
		{name: "secondary cluster IP may not be added with another primary", old: allocated, obj: svc(func(s *corev1.Service) {
			s.Spec.ClusterIP = "10.43.0.12"
			s.Spec.ClusterIPs = []string{"10.43.0.12", "fd00::12"}
			s.Spec.IPFamilyPolicy = ptr(corev1.IPFamilyPolicyRequireDualStack)
		}), want: []wantErr{invalid("spec.clusterIPs[0]").with("may not change once set")}},
		{name: "changing to ExternalName drops the cluster IP", old: allocated, obj: func() *corev1.Service {
			s := allocated.DeepCopy()
			s.Spec.Type = corev1.ServiceTypeExternalName
			s.Spec.ExternalName = "example.com"
			return s
		}()},
		{name: "ExternalName with a new cluster IP", old: allocated, obj: func() *corev1.Service {
			s := allocated.DeepCopy()
			s.Spec.Type = corev1.ServiceTypeExternalName
			s.Spec.ExternalName = "example.com"
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.43.0.99", []string{"10.43.0.99"}
			return s
		}(), want: []wantErr{forbidden("spec.clusterIPs")}},
		{name: "NodePort back to ClusterIP drops node ports and traffic policy", old: nodePortSvc, obj: func() *corev1.Service {
			s := nodePortSvc.DeepCopy()
			s.Spec.Type = corev1.ServiceTypeClusterIP
			return s
		}()},
		{name: "NodePort back to ClusterIP with a changed node port", old: nodePortSvc, obj: func() *corev1.Service {
			s := nodePortSvc.DeepCopy()
			s.Spec.Type = corev1.ServiceTypeClusterIP
			s.Spec.Ports[0].NodePort = 30081
			return s
		}(), want: []wantErr{forbidden("spec.ports[0].nodePort")}},
	})
	runCases(t, ValidateStatusUpdate, []errCase{
		{name: "load balancer ingress", old: allocated, obj: func() *corev1.Service {
			s := allocated.DeepCopy()
			s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "1.2.3.4", IPMode: ptr(corev1.LoadBalancerIPModeVIP)}, {IP: "bad"}}
			return s
		}(), want: []wantErr{invalid("status.loadBalancer.ingress[1].ip"), required("status.loadBalancer.ingress[1].ipMode")}},
	})
}
