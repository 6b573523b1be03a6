package printers

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// cellCase is one object and the row upstream renders for it (all columns, wide ones included).
type cellCase struct {
	name string
	gk   schema.GroupKind
	obj  runtime.Object
	want []interface{}
}

func runCellCases(t *testing.T, tests []cellCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := For(tt.gk)
			got, err := p.Cells(tt.obj, now)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(p.Columns) {
				t.Errorf("%d cells for %d columns", len(got), len(p.Columns))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("cells:\n got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

var (
	podGK       = schema.GroupKind{Kind: "Pod"}
	serviceGK   = schema.GroupKind{Kind: "Service"}
	nodeGK      = schema.GroupKind{Kind: "Node"}
	endpointsGK = schema.GroupKind{Kind: "Endpoints"}
	eventGK     = schema.GroupKind{Kind: "Event"}
	pvGK        = schema.GroupKind{Kind: "PersistentVolume"}
	pvcGK       = schema.GroupKind{Kind: "PersistentVolumeClaim"}
)

func service(name string, typ corev1.ServiceType, edit func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{ObjectMeta: objMeta(name), Spec: corev1.ServiceSpec{
		Type: typ, ClusterIP: "10.43.0.10", ClusterIPs: []string{"10.43.0.10"},
		Ports:    []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}},
		Selector: map[string]string{"app": name},
	}}
	if edit != nil {
		edit(s)
	}
	return s
}

func TestServiceCells(t *testing.T) {
	runCellCases(t, []cellCase{
		{"cluster IP", serviceGK, service("web", corev1.ServiceTypeClusterIP, nil),
			[]interface{}{"web", "ClusterIP", "10.43.0.10", "<none>", "80/TCP", "60m", "app=web"}},
		{"headless without ports or selector", serviceGK, service("db", corev1.ServiceTypeClusterIP, func(s *corev1.Service) {
			s.Spec.ClusterIPs, s.Spec.Ports, s.Spec.Selector = []string{"None"}, nil, nil
		}), []interface{}{"db", "ClusterIP", "None", "<none>", "<none>", "60m", "<none>"}},
		{"node port with external IPs", serviceGK, service("np", corev1.ServiceTypeNodePort, func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Port: 80, NodePort: 30080, Protocol: corev1.ProtocolTCP}, {Port: 53, Protocol: corev1.ProtocolUDP}}
			s.Spec.ExternalIPs = []string{"1.2.3.4", "5.6.7.8"}
		}), []interface{}{"np", "NodePort", "10.43.0.10", "1.2.3.4,5.6.7.8", "80:30080/TCP,53/UDP", "60m", "app=np"}},
		{"load balancer pending", serviceGK, service("lb", corev1.ServiceTypeLoadBalancer, nil),
			[]interface{}{"lb", "LoadBalancer", "10.43.0.10", "<pending>", "80/TCP", "60m", "app=lb"}},
		{"load balancer addresses sorted, never clipped, then external IPs", serviceGK, service("lb", corev1.ServiceTypeLoadBalancer, func(s *corev1.Service) {
			s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: "a-very-long-name.elb.example.com"}, {IP: "192.0.2.10"}, {IP: "192.0.2.10"}}
			s.Spec.ExternalIPs = []string{"198.51.100.1"}
		}), []interface{}{"lb", "LoadBalancer", "10.43.0.10", "192.0.2.10,a-very-long-name.elb.example.com,198.51.100.1", "80/TCP", "60m", "app=lb"}},
		{"external name", serviceGK, service("ext", corev1.ServiceTypeExternalName, func(s *corev1.Service) {
			s.Spec.ExternalName, s.Spec.ClusterIPs, s.Spec.Ports = "db.example.com", nil, nil
		}), []interface{}{"ext", "ExternalName", "<none>", "db.example.com", "<none>", "60m", "app=ext"}},
	})
}

func TestNodeCells(t *testing.T) {
	node := func(edit func(*corev1.Node)) *corev1.Node {
		n := &corev1.Node{ObjectMeta: objMeta("node-1")}
		n.Namespace = ""
		n.Status.NodeInfo.KubeletVersion = "v1.37.2-klite"
		edit(n)
		return n
	}
	runCellCases(t, []cellCase{
		{"ready control plane", nodeGK, node(func(n *corev1.Node) {
			n.Labels = map[string]string{"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/etcd": "true", "kubernetes.io/role": "master"}
			n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}, {Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
			n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "node-1"}, {Type: corev1.NodeInternalIP, Address: "192.168.1.10"}}
			n.Status.NodeInfo.OSImage, n.Status.NodeInfo.KernelVersion = "Debian GNU/Linux 13 (trixie)", "6.12.0"
			n.Status.NodeInfo.Architecture, n.Status.NodeInfo.ContainerRuntimeVersion = "amd64", "klite://0.1.0"
		}), []interface{}{"node-1", "Ready", "control-plane,etcd,master", "60m", "v1.37.2-klite", "192.168.1.10", "<none>",
			"Debian GNU/Linux 13 (trixie)", "6.12.0 (amd64)", "klite://0.1.0"}},
		{"not ready and cordoned", nodeGK, node(func(n *corev1.Node) {
			n.Spec.Unschedulable = true
			n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}}
			n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeExternalIP, Address: "203.0.113.7"}}
		}), []interface{}{"node-1", "NotReady,SchedulingDisabled", "<none>", "60m", "v1.37.2-klite", "<none>", "203.0.113.7", "<unknown>", "<unknown>", "<unknown>"}},
		{"no conditions yet", nodeGK, node(func(n *corev1.Node) {}),
			[]interface{}{"node-1", "Unknown", "<none>", "60m", "v1.37.2-klite", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"}},
	})
}

func TestEndpointsCells(t *testing.T) {
	addrs := func(ips ...string) []corev1.EndpointAddress {
		out := make([]corev1.EndpointAddress, len(ips))
		for i, ip := range ips {
			out[i].IP = ip
		}
		return out
	}
	eps := func(subsets ...corev1.EndpointSubset) *corev1.Endpoints {
		return &corev1.Endpoints{ObjectMeta: objMeta("web"), Subsets: subsets}
	}
	runCellCases(t, []cellCase{
		{"no subsets", endpointsGK, eps(), []interface{}{"web", "<none>", "60m"}},
		{"addresses with ports", endpointsGK, eps(corev1.EndpointSubset{Addresses: addrs("10.42.0.5", "fd00::6"), Ports: []corev1.EndpointPort{{Port: 8080}}}),
			[]interface{}{"web", "10.42.0.5:8080,[fd00::6]:8080", "60m"}},
		{"headless without ports", endpointsGK, eps(corev1.EndpointSubset{Addresses: addrs("10.42.0.5")}), []interface{}{"web", "10.42.0.5", "60m"}},
		{"more than three", endpointsGK, eps(corev1.EndpointSubset{Addresses: addrs("10.42.0.1", "10.42.0.2", "10.42.0.3"), Ports: []corev1.EndpointPort{{Port: 80}, {Port: 443}}}),
			[]interface{}{"web", "10.42.0.1:80,10.42.0.2:80,10.42.0.3:80 + 3 more...", "60m"}},
		{"only not-ready addresses", endpointsGK, eps(corev1.EndpointSubset{NotReadyAddresses: addrs("10.42.0.1"), Ports: []corev1.EndpointPort{{Port: 80}}}),
			[]interface{}{"web", "", "60m"}},
	})
}

func TestEventCells(t *testing.T) {
	event := func(edit func(*corev1.Event)) *corev1.Event {
		e := &corev1.Event{ObjectMeta: objMeta("web.1"), Type: "Normal", Reason: "Scheduled",
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web", FieldPath: "spec.containers{app}"},
			Source:         corev1.EventSource{Component: "default-scheduler"},
			Message:        "Successfully assigned default/web to node-1\n", Count: 3,
			FirstTimestamp: ago(10 * time.Minute), LastTimestamp: ago(2 * time.Minute)}
		if edit != nil {
			edit(e)
		}
		return e
	}
	runCellCases(t, []cellCase{
		{"old-style event", eventGK, event(nil), []interface{}{"2m", "Normal", "Scheduled", "pod/web", "spec.containers{app}", "default-scheduler",
			"Successfully assigned default/web to node-1", "10m", int64(3), "web.1"}},
		{"new-style singleton", eventGK, event(func(e *corev1.Event) {
			e.FirstTimestamp, e.LastTimestamp, e.Count = metav1.Time{}, metav1.Time{}, 0
			e.EventTime = metav1.NewMicroTime(now.Add(-5 * time.Minute))
			e.Source = corev1.EventSource{}
			e.ReportingController, e.ReportingInstance = "kubelet", "node-1"
			e.InvolvedObject = corev1.ObjectReference{Kind: "Node"}
		}), []interface{}{"5m", "Normal", "Scheduled", "node", "", "kubelet, node-1", "Successfully assigned default/web to node-1", "5m", int64(1), "web.1"}},
		{"series", eventGK, event(func(e *corev1.Event) {
			e.Series = &corev1.EventSeries{Count: 12, LastObservedTime: metav1.NewMicroTime(now.Add(-30 * time.Second))}
			e.Source.Host = "node-1"
		}), []interface{}{"30s", "Normal", "Scheduled", "pod/web", "spec.containers{app}", "default-scheduler, node-1",
			"Successfully assigned default/web to node-1", "10m", int64(12), "web.1"}},
		{"no timestamps at all", eventGK, event(func(e *corev1.Event) {
			e.FirstTimestamp, e.LastTimestamp = metav1.Time{}, metav1.Time{}
		}), []interface{}{"<unknown>", "Normal", "Scheduled", "pod/web", "spec.containers{app}", "default-scheduler",
			"Successfully assigned default/web to node-1", "<unknown>", int64(3), "web.1"}},
	})
}

func TestVolumeCells(t *testing.T) {
	fs, block := corev1.PersistentVolumeFilesystem, corev1.PersistentVolumeBlock
	pv := &corev1.PersistentVolume{ObjectMeta: objMeta("pv-1"), Spec: corev1.PersistentVolumeSpec{
		Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
		AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOnce},
		PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
		ClaimRef:                      &corev1.ObjectReference{Namespace: "default", Name: "data"},
		StorageClassName:              "local-path",
		VolumeMode:                    &fs,
	}, Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound}}
	pvDeleted := pv.DeepCopy()
	pvDeleted.DeletionTimestamp = agoPtr(time.Second)
	pvDeleted.Annotations = map[string]string{"volume.beta.kubernetes.io/storage-class": "beta-class"}
	pvDeleted.Spec.ClaimRef, pvDeleted.Spec.VolumeMode, pvDeleted.Spec.Capacity = nil, nil, nil
	pvDeleted.Spec.VolumeAttributesClassName = ptr("gold")
	pvDeleted.Status.Reason = "Released by test"

	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: objMeta("data"), Spec: corev1.PersistentVolumeClaimSpec{
		StorageClassName: ptr("local-path"), VolumeName: "pv-1", VolumeMode: &block,
		Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
	}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadOnlyMany},
		Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}}}
	pending := &corev1.PersistentVolumeClaim{ObjectMeta: objMeta("wait"), Spec: corev1.PersistentVolumeClaimSpec{
		Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
	}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}}
	pending.DeletionTimestamp = agoPtr(time.Second)

	runCellCases(t, []cellCase{
		{"bound volume", pvGK, pv, []interface{}{"pv-1", "10Gi", "RWO,RWX", "Retain", "Bound", "default/data", "local-path", "<unset>", "", "60m", "Filesystem"}},
		{"deleted volume", pvGK, pvDeleted, []interface{}{"pv-1", "0", "RWO,RWX", "Retain", "Terminating", "", "beta-class", "gold", "Released by test", "60m", "<unset>"}},
		{"bound claim", pvcGK, pvc, []interface{}{"data", "Bound", "pv-1", "10Gi", "ROX,RWOP", "local-path", "<unset>", "60m", "Block"}},
		{"pending claim being deleted", pvcGK, pending, []interface{}{"wait", "Terminating", "", "", "", "", "<unset>", "60m", "<unset>"}},
	})
}

func TestSmallCoreKindCells(t *testing.T) {
	two := int32(2)
	rc := &corev1.ReplicationController{ObjectMeta: objMeta("rc"), Spec: corev1.ReplicationControllerSpec{
		Replicas: &two, Selector: map[string]string{"app": "rc"},
		Template: &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "nginx"}, {Name: "b", Image: "busybox"}}}},
	}, Status: corev1.ReplicationControllerStatus{Replicas: 2, ReadyReplicas: 1}}
	quota := &corev1.ResourceQuota{ObjectMeta: objMeta("quota"), Status: corev1.ResourceQuotaStatus{
		Hard: corev1.ResourceList{"pods": resource.MustParse("10"), "limits.cpu": resource.MustParse("4"), "requests.memory": resource.MustParse("1Gi"), "limits.memory": resource.MustParse("2Gi")},
		Used: corev1.ResourceList{"pods": resource.MustParse("3"), "limits.cpu": resource.MustParse("500m")},
	}}
	runCellCases(t, []cellCase{
		{"namespace", schema.GroupKind{Kind: "Namespace"}, &corev1.Namespace{ObjectMeta: objMeta("dev"), Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
			[]interface{}{"dev", "Active", "60m"}},
		{"secret counts data and stringData keys", schema.GroupKind{Kind: "Secret"}, &corev1.Secret{ObjectMeta: objMeta("s"), Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{"a": nil, "b": nil}, StringData: map[string]string{"b": "", "c": ""}},
			[]interface{}{"s", "Opaque", int64(3), "60m"}},
		{"service account", schema.GroupKind{Kind: "ServiceAccount"}, &corev1.ServiceAccount{ObjectMeta: objMeta("default")},
			[]interface{}{"default", "60m"}},
		{"config map counts binary data", schema.GroupKind{Kind: "ConfigMap"}, &corev1.ConfigMap{ObjectMeta: objMeta("cm"),
			Data: map[string]string{"a": "1"}, BinaryData: map[string][]byte{"b": {1}}},
			[]interface{}{"cm", int64(2), "60m"}},
		{"replication controller", schema.GroupKind{Kind: "ReplicationController"}, rc,
			[]interface{}{"rc", int64(2), int64(2), int64(1), "60m", "a,b", "nginx,busybox", "app=rc"}},
		{"resource quota", schema.GroupKind{Kind: "ResourceQuota"}, quota,
			[]interface{}{"quota", "pods: 3/10, requests.memory: 0/1Gi", "limits.cpu: 500m/4, limits.memory: 0/2Gi", "60m"}},
		{"pod template", schema.GroupKind{Kind: "PodTemplate"}, &corev1.PodTemplate{ObjectMeta: objMeta("tpl"), Template: corev1.PodTemplateSpec{
			ObjectMeta: objMeta(""), Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}}}},
			[]interface{}{"tpl", "app", "nginx:1.27", "<none>"}},
		{"limit range uses the default table", schema.GroupKind{Kind: "LimitRange"}, &corev1.LimitRange{ObjectMeta: objMeta("limits")},
			[]interface{}{"limits", "2026-11-27T11:00:00Z"}},
	})
}
