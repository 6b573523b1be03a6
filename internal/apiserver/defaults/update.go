package defaults

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
)

// ApplyUpdate prepares obj to replace old (same kind) the way upstream's
// update strategies do before validation: it applies the defaults and, for a
// Service, carries over the cluster IPs and node ports the client left empty
// and drops the fields the new type no longer uses (when the client did not
// change them). Other kinds get Apply only.
func ApplyUpdate(obj, old runtime.Object) {
	Apply(obj)
	if svc, ok := obj.(*corev1.Service); ok {
		if oldSvc, ok := old.(*corev1.Service); ok {
			dropTypeDependentFields(svc, oldSvc)
			patchAllocatedValues(svc, oldSvc)
		}
	}
}

func needsClusterIP(s *corev1.Service) bool { return s.Spec.Type != corev1.ServiceTypeExternalName }

func needsNodePort(s *corev1.Service) bool {
	switch s.Spec.Type {
	case corev1.ServiceTypeNodePort:
		return true
	case corev1.ServiceTypeLoadBalancer:
		a := s.Spec.AllocateLoadBalancerNodePorts
		return a == nil || *a
	}
	return false
}

func externallyAccessible(s *corev1.Service) bool {
	return s.Spec.Type == corev1.ServiceTypeNodePort || s.Spec.Type == corev1.ServiceTypeLoadBalancer
}

// dropTypeDependentFields clears what a type change leaves meaningless,
// unless the client changed it in this same update.
func dropTypeDependentFields(s, old *corev1.Service) {
	n, o := &s.Spec, &old.Spec
	same := equality.Semantic.DeepEqual
	if needsClusterIP(old) && !needsClusterIP(s) {
		if n.ClusterIP == o.ClusterIP && same(n.ClusterIPs, o.ClusterIPs) {
			n.ClusterIP, n.ClusterIPs = "", nil
		}
		if same(n.IPFamilies, o.IPFamilies) {
			n.IPFamilies = nil
		}
		if same(n.IPFamilyPolicy, o.IPFamilyPolicy) {
			n.IPFamilyPolicy = nil
		}
	}
	if needsNodePort(old) && !needsNodePort(s) {
		if sameNodePorts(n.Ports, o.Ports) {
			for i := range n.Ports {
				n.Ports[i].NodePort = 0
			}
		}
		if n.HealthCheckNodePort == o.HealthCheckNodePort {
			n.HealthCheckNodePort = 0
		}
	}
	if o.Type == corev1.ServiceTypeLoadBalancer && n.Type != corev1.ServiceTypeLoadBalancer {
		if n.AllocateLoadBalancerNodePorts != nil && o.AllocateLoadBalancerNodePorts != nil &&
			*n.AllocateLoadBalancerNodePorts == *o.AllocateLoadBalancerNodePorts {
			n.AllocateLoadBalancerNodePorts = nil
		}
		if same(n.LoadBalancerClass, o.LoadBalancerClass) {
			n.LoadBalancerClass = nil
		}
	}
	if externallyAccessible(old) && !externallyAccessible(s) && n.ExternalTrafficPolicy == o.ExternalTrafficPolicy {
		n.ExternalTrafficPolicy = ""
	}
	if n.Type != corev1.ServiceTypeLoadBalancer {
		s.Status.LoadBalancer = corev1.LoadBalancerStatus{}
	}
}

// sameNodePorts reports whether every new port kept the node port its
// namesake had.
func sameNodePorts(ports, old []corev1.ServicePort) bool {
	byName := map[string]int32{}
	for _, p := range old {
		byName[p.Name] = p.NodePort
	}
	for _, p := range ports {
		if n, ok := byName[p.Name]; !ok || n != p.NodePort {
			return false
		}
	}
	return true
}

// patchAllocatedValues keeps the cluster IPs, node ports and health check
// port the old object holds when the update leaves them empty (as
// `kubectl replace` of a manifest does).
func patchAllocatedValues(s, old *corev1.Service) {
	n, o := &s.Spec, &old.Spec
	if needsClusterIP(old) && needsClusterIP(s) {
		if n.ClusterIP == "" {
			n.ClusterIP = o.ClusterIP
		}
		if len(n.ClusterIPs) == 0 && len(o.ClusterIPs) > 0 {
			n.ClusterIPs = append([]string(nil), o.ClusterIPs...)
		}
	}
	if needsNodePort(old) && needsNodePort(s) {
		patchNodePorts(n.Ports, o.Ports)
	}
	if n.HealthCheckNodePort == 0 && n.Type == corev1.ServiceTypeLoadBalancer && n.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal {
		n.HealthCheckNodePort = o.HealthCheckNodePort
	}
}

// patchNodePorts gives each new port without a node port the one its
// namesake held, unless another new port already uses it.
func patchNodePorts(ports, old []corev1.ServicePort) {
	used := map[int32]bool{}
	for _, p := range ports {
		used[p.NodePort] = p.NodePort != 0
	}
	byName := map[string]int32{}
	for _, p := range old {
		byName[p.Name] = p.NodePort
	}
	for i := range ports {
		if ports[i].NodePort != 0 {
			continue
		}
		if n, ok := byName[ports[i].Name]; ok && n != 0 && !used[n] {
			ports[i].NodePort = n
			used[n] = true
		}
	}
}
