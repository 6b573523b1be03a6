package defaults

import (
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func service(typ corev1.ServiceType, clusterIP string, selector map[string]string, ports ...corev1.ServicePort) func() runtime.Object {
	return func() runtime.Object {
		return &corev1.Service{Spec: corev1.ServiceSpec{Type: typ, ClusterIP: clusterIP, Selector: selector, Ports: ports}}
	}
}

func TestServiceDefaults(t *testing.T) {
	web := map[string]string{"app": "web"}
	runDefaults(t, []defaultsCase{
		{
			name: "cluster IP service",
			in:   service("", "", web, corev1.ServicePort{Port: 80}, corev1.ServicePort{Port: 443, TargetPort: intstr.FromString("https")}),
			want: func(o runtime.Object) {
				s := &o.(*corev1.Service).Spec
				s.Type = corev1.ServiceTypeClusterIP
				s.SessionAffinity = corev1.ServiceAffinityNone
				s.Ports[0].Protocol, s.Ports[0].TargetPort = corev1.ProtocolTCP, intstr.FromInt32(80)
				s.Ports[1].Protocol = corev1.ProtocolTCP
				s.InternalTrafficPolicy = p(corev1.ServiceInternalTrafficPolicyCluster)
				s.IPFamilyPolicy = p(corev1.IPFamilyPolicySingleStack)
				s.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
			},
		},
		{
			name: "allocated cluster IP is mirrored into clusterIPs",
			in:   service(corev1.ServiceTypeNodePort, "fd00::10", web, corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolUDP}),
			want: func(o runtime.Object) {
				s := &o.(*corev1.Service).Spec
				s.SessionAffinity = corev1.ServiceAffinityNone
				s.Ports[0].TargetPort = intstr.FromInt32(80)
				s.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
				s.InternalTrafficPolicy = p(corev1.ServiceInternalTrafficPolicyCluster)
				s.ClusterIPs = []string{"fd00::10"}
				s.IPFamilyPolicy = p(corev1.IPFamilyPolicySingleStack)
				s.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol}
			},
		},
		{
			name: "load balancer allocates node ports and uses ClientIP timeout",
			in: func() runtime.Object {
				svc := service(corev1.ServiceTypeLoadBalancer, "", web, corev1.ServicePort{Port: 80, TargetPort: intstr.FromInt32(8080)})().(*corev1.Service)
				svc.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
				return svc
			},
			want: func(o runtime.Object) {
				s := &o.(*corev1.Service).Spec
				s.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: p(int32(10800))}}
				s.Ports[0].Protocol = corev1.ProtocolTCP
				s.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
				s.InternalTrafficPolicy = p(corev1.ServiceInternalTrafficPolicyCluster)
				s.AllocateLoadBalancerNodePorts = p(true)
				s.IPFamilyPolicy = p(corev1.IPFamilyPolicySingleStack)
				s.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
			},
		},
		{
			name: "headless service without selector is dual-stack capable",
			in:   service("", "None", nil),
			want: func(o runtime.Object) {
				s := &o.(*corev1.Service).Spec
				s.Type = corev1.ServiceTypeClusterIP
				s.SessionAffinity = corev1.ServiceAffinityNone
				s.InternalTrafficPolicy = p(corev1.ServiceInternalTrafficPolicyCluster)
				s.ClusterIPs = []string{"None"}
				s.IPFamilyPolicy = p(corev1.IPFamilyPolicyRequireDualStack)
				s.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
			},
		},
		{
			name: "headless service with selector is single stack",
			in:   service("", "None", web),
			want: func(o runtime.Object) {
				s := &o.(*corev1.Service).Spec
				s.Type = corev1.ServiceTypeClusterIP
				s.SessionAffinity = corev1.ServiceAffinityNone
				s.InternalTrafficPolicy = p(corev1.ServiceInternalTrafficPolicyCluster)
				s.ClusterIPs = []string{"None"}
				s.IPFamilyPolicy = p(corev1.IPFamilyPolicySingleStack)
				s.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
			},
		},
		{
			name: "external name service has no IP fields",
			in: func() runtime.Object {
				return &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}}
			},
			want: func(o runtime.Object) {
				o.(*corev1.Service).Spec.SessionAffinity = corev1.ServiceAffinityNone
			},
		},
	})
}

func TestCoreDefaults(t *testing.T) {
	runDefaults(t, []defaultsCase{
		{
			name: "namespace",
			in:   func() runtime.Object { return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}} },
			want: func(o runtime.Object) {
				ns := o.(*corev1.Namespace)
				ns.Labels = map[string]string{"kubernetes.io/metadata.name": "team-a"}
				ns.Spec.Finalizers = []corev1.FinalizerName{corev1.FinalizerKubernetes}
				ns.Status.Phase = corev1.NamespaceActive
			},
		},
		{
			name: "secret type and stringData",
			in: func() runtime.Object {
				return &corev1.Secret{Data: map[string][]byte{"a": []byte("1"), "b": []byte("2")}, StringData: map[string]string{"b": "two", "c": "3"}}
			},
			want: func(o runtime.Object) {
				s := o.(*corev1.Secret)
				s.Type = corev1.SecretTypeOpaque
				s.Data = map[string][]byte{"a": []byte("1"), "b": []byte("two"), "c": []byte("3")}
				s.StringData = nil
			},
		},
		{
			name: "secret keeps its type",
			in:   func() runtime.Object { return &corev1.Secret{Type: corev1.SecretTypeTLS} },
			want: func(runtime.Object) {},
		},
		{
			name: "persistent volume",
			in: func() runtime.Object {
				return &corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{
					HostPath: &corev1.HostPathVolumeSource{Path: "/data"}}}}
			},
			want: func(o runtime.Object) {
				pv := o.(*corev1.PersistentVolume)
				pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
				pv.Spec.VolumeMode = p(corev1.PersistentVolumeFilesystem)
				pv.Spec.HostPath.Type = p(corev1.HostPathUnset)
				pv.Status.Phase = corev1.VolumePending
			},
		},
		{
			name: "persistent volume claim",
			in:   func() runtime.Object { return &corev1.PersistentVolumeClaim{} },
			want: func(o runtime.Object) {
				pvc := o.(*corev1.PersistentVolumeClaim)
				pvc.Spec.VolumeMode = p(corev1.PersistentVolumeFilesystem)
				pvc.Status.Phase = corev1.ClaimPending
			},
		},
		{
			name: "block claim keeps its mode",
			in: func() runtime.Object {
				return &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{VolumeMode: p(corev1.PersistentVolumeBlock)},
					Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}}
			},
			want: func(runtime.Object) {},
		},
		{
			name: "endpoints port protocol",
			in: func() runtime.Object {
				return &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Ports: []corev1.EndpointPort{{Port: 80}, {Port: 53, Protocol: corev1.ProtocolUDP}}}}}
			},
			want: func(o runtime.Object) {
				o.(*corev1.Endpoints).Subsets[0].Ports[0].Protocol = corev1.ProtocolTCP
			},
		},
		{
			name: "node allocatable defaults to capacity",
			in: func() runtime.Object {
				return &corev1.Node{Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")},
					Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}}}}
			},
			want: func(o runtime.Object) {
				o.(*corev1.Node).Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")}
			},
		},
		{
			name: "container limit range",
			in: func() runtime.Object {
				return &corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
					Type: corev1.LimitTypeContainer,
					Max:  corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
					Min:  corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
				}}}}
			},
			want: func(o runtime.Object) {
				item := &o.(*corev1.LimitRange).Spec.Limits[0]
				item.Default = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}
				item.DefaultRequest = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("64Mi")}
			},
		},
	})
}

func TestOtherGroupDefaults(t *testing.T) {
	runDefaults(t, []defaultsCase{
		{
			name: "endpoint slice ports",
			in: func() runtime.Object {
				return &discoveryv1.EndpointSlice{Ports: []discoveryv1.EndpointPort{{Port: p(int32(80))}}}
			},
			want: func(o runtime.Object) {
				port := &o.(*discoveryv1.EndpointSlice).Ports[0]
				port.Name, port.Protocol = p(""), p(corev1.ProtocolTCP)
			},
		},
		{
			name: "role binding subjects and roleRef",
			in: func() runtime.Object {
				return &rbacv1.RoleBinding{RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "r"}, Subjects: []rbacv1.Subject{
					{Kind: "User", Name: "alice"}, {Kind: "Group", Name: "devs"}, {Kind: "ServiceAccount", Name: "sa", Namespace: "default"},
				}}
			},
			want: func(o runtime.Object) {
				b := o.(*rbacv1.RoleBinding)
				b.RoleRef.APIGroup = rbacv1.GroupName
				b.Subjects[0].APIGroup, b.Subjects[1].APIGroup = rbacv1.GroupName, rbacv1.GroupName
			},
		},
		{
			name: "cluster role binding",
			in: func() runtime.Object {
				return &rbacv1.ClusterRoleBinding{RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "r"}, Subjects: []rbacv1.Subject{{Kind: "User", Name: "bob"}}}
			},
			want: func(o runtime.Object) {
				b := o.(*rbacv1.ClusterRoleBinding)
				b.RoleRef.APIGroup = rbacv1.GroupName
				b.Subjects[0].APIGroup = rbacv1.GroupName
			},
		},
		{
			name: "storage class",
			in:   func() runtime.Object { return &storagev1.StorageClass{Provisioner: "example.com/x"} },
			want: func(o runtime.Object) {
				sc := o.(*storagev1.StorageClass)
				sc.ReclaimPolicy = p(corev1.PersistentVolumeReclaimDelete)
				sc.VolumeBindingMode = p(storagev1.VolumeBindingImmediate)
			},
		},
		{
			name: "priority class",
			in:   func() runtime.Object { return &schedulingv1.PriorityClass{Value: 10} },
			want: func(o runtime.Object) {
				o.(*schedulingv1.PriorityClass).PreemptionPolicy = p(corev1.PreemptLowerPriority)
			},
		},
		{
			name: "lease has no defaults",
			in:   func() runtime.Object { return &coordinationv1.Lease{} },
			want: func(runtime.Object) {},
		},
		{
			name: "config map has no defaults",
			in:   func() runtime.Object { return &corev1.ConfigMap{Data: map[string]string{"k": "v"}} },
			want: func(runtime.Object) {},
		},
	})
}
