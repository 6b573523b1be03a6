package apply

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

var (
	nodeGVK  = corev1.SchemeGroupVersion.WithKind("Node")
	leaseGVK = coordinationv1.SchemeGroupVersion.WithKind("Lease")
)

// newUpdateManager tracks the kinds the update tests write.
func newUpdateManager(t testing.TB) *Manager {
	t.Helper()
	m, err := New(Config{Kinds: []Kind{{GVK: deployGVK, Status: true, Scale: true}, {GVK: cmGVK},
		{GVK: podGVK, Status: true}, {GVK: nodeGVK, Status: true}, {GVK: leaseGVK}}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

// generalUpdate runs upstream's field manager on an update, as Update
// did before the shortcut.
func generalUpdate(t testing.TB, m *Manager, live, next runtime.Object, gvk schema.GroupVersionKind, sub, manager string) runtime.Object {
	t.Helper()
	next.GetObjectKind().SetGroupVersionKind(gvk)
	out, err := m.managers[target{gvk, sub}].Update(live, next, manager)
	if err != nil {
		t.Fatalf("general update: %v", err)
	}
	return out
}

// history builds a stored object by running writes through the general
// path: the first creates obj, each later one changes a copy of the
// result. Entry times are then moved into the past, an hour apart, so
// that the order of entries does not hang on the clock.
type history struct {
	t   testing.TB
	m   *Manager
	gvk schema.GroupVersionKind
	obj runtime.Object
}

func newHistory(t testing.TB, m *Manager, gvk schema.GroupVersionKind, manager string, obj runtime.Object) *history {
	created := generalUpdate(t, m, emptyOf(t, m, gvk), obj, gvk, "", manager)
	return &history{t: t, m: m, gvk: gvk, obj: storedAs(created, 1)}
}

func emptyOf(t testing.TB, m *Manager, gvk schema.GroupVersionKind) runtime.Object {
	empty, err := m.empty(gvk)
	if err != nil {
		t.Fatal(err)
	}
	return empty
}

// write records manager changing what change changes, through sub.
func (h *history) write(sub, manager string, change func(runtime.Object)) *history {
	next := h.obj.DeepCopyObject()
	change(next)
	out := next
	if h.m.Tracks(h.gvk, sub) {
		out = generalUpdate(h.t, h.m, h.obj, next, h.gvk, sub, manager)
	}
	rv := 1
	if m, _ := meta.Accessor(h.obj); m != nil {
		fmt.Sscan(m.GetResourceVersion(), &rv)
	}
	h.obj = storedAs(out, rv+1)
	return h
}

// live is the stored object with its entries' times in the past.
func (h *history) live() runtime.Object {
	obj := h.obj.DeepCopyObject()
	m, _ := meta.Accessor(obj)
	entries := m.GetManagedFields()
	for i := range entries {
		entries[i].Time = &metav1.Time{Time: time.Date(2024, 1, 1, i, 0, 0, 0, time.UTC)}
	}
	return obj
}

// storedAs mimics storage: a uid and the given resourceVersion.
func storedAs(obj runtime.Object, rv int) runtime.Object {
	m, _ := meta.Accessor(obj)
	if m.GetUID() == "" {
		m.SetUID(types.UID("uid-" + m.GetName()))
	}
	m.SetResourceVersion(fmt.Sprint(rv))
	return obj
}

// controllerPod is a pod as a ReplicaSet controller creates it.
func controllerPod() *corev1.Pod {
	p := createPod()
	p.GenerateName = "web-7d9f8b-"
	p.Name = "web-7d9f8b-x2k4p"
	p.Labels["pod-template-hash"] = "7d9f8b"
	p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-7d9f8b",
		UID: "rs-uid", Controller: ptr(true), BlockOwnerDeletion: ptr(true)}}
	p.Spec.RestartPolicy = corev1.RestartPolicyAlways
	p.Spec.DNSPolicy = corev1.DNSClusterFirst
	p.Spec.SchedulerName = "default-scheduler"
	p.Spec.TerminationGracePeriodSeconds = ptr(int64(30))
	return p
}

var t0 = metav1.NewTime(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))

// bind assigns the pod to a node, as pods/binding does.
func bind(obj runtime.Object) {
	p := obj.(*corev1.Pod)
	p.Spec.NodeName = "node-1"
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: t0})
}

// kubeletStarting is the kubelet's first status of a bound pod.
func kubeletStarting(obj runtime.Object) {
	p := obj.(*corev1.Pod)
	p.Status.Phase = corev1.PodPending
	p.Status.HostIP, p.Status.HostIPs = "192.168.1.10", []corev1.HostIP{{IP: "192.168.1.10"}}
	p.Status.StartTime = &t0
	p.Status.QOSClass = corev1.PodQOSBurstable
	p.Status.Conditions = []corev1.PodCondition{
		{Type: "PodReadyToStartContainers", Status: corev1.ConditionFalse, LastTransitionTime: t0},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: t0},
		{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: t0, Reason: "ContainersNotReady", Message: "containers with unready status: [web sidecar]"},
		{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, LastTransitionTime: t0, Reason: "ContainersNotReady"},
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: t0},
	}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{
		{Name: "sidecar", Image: "registry.example.com/log:2", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}},
		{Name: "web", Image: "registry.example.com/web:1", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}},
	}
}

// kubeletRunning is the kubelet's status once the containers run.
func kubeletRunning(obj runtime.Object) {
	p := obj.(*corev1.Pod)
	p.Status.Phase = corev1.PodRunning
	p.Status.PodIP, p.Status.PodIPs = "10.42.0.7", []corev1.PodIP{{IP: "10.42.0.7"}}
	for i := range p.Status.Conditions {
		p.Status.Conditions[i].Status, p.Status.Conditions[i].Reason, p.Status.Conditions[i].Message = corev1.ConditionTrue, "", ""
	}
	for i := range p.Status.ContainerStatuses {
		cs := &p.Status.ContainerStatuses[i]
		cs.Ready, cs.Started, cs.ContainerID, cs.ImageID = true, ptr(true), "klite://"+cs.Name, "sha256:"+cs.Name
		cs.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: t0}}
	}
}

// kubeletTerminated is the kubelet's status once the web container exited.
func kubeletTerminated(obj runtime.Object) {
	p := obj.(*corev1.Pod)
	cs := &p.Status.ContainerStatuses[1]
	cs.Ready, cs.Started = false, ptr(false)
	cs.LastTerminationState = cs.State
	cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", StartedAt: t0, FinishedAt: t0}}
	p.Status.Conditions[2].Status = corev1.ConditionFalse
	p.Status.PodIPs = nil
}

// kubelet pods goes through its life up to a running pod.
func runningPod(t testing.TB, m *Manager) *history {
	return newHistory(t, m, podGVK, "kube-controller-manager", controllerPod()).
		write("binding", "kube-scheduler", bind).
		write(Status, "kubelet", kubeletStarting).
		write(Status, "kubelet", kubeletRunning)
}

// registeredNode is a node as the kubelet registers it and reports its status.
func registeredNode(t testing.TB, m *Manager) *history {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", Labels: map[string]string{
		"kubernetes.io/hostname": "node-1", "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"},
		Annotations: map[string]string{"node.alpha.kubernetes.io/ttl": "0"}},
		Spec: corev1.NodeSpec{PodCIDR: "10.42.1.0/24", PodCIDRs: []string{"10.42.1.0/24"}}}
	return newHistory(t, m, nodeGVK, "kubelet", n).write(Status, "kubelet", nodeStatus)
}

func nodeStatus(obj runtime.Object) {
	n := obj.(*corev1.Node)
	rl := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi"),
		corev1.ResourcePods: resource.MustParse("110"), corev1.ResourceEphemeralStorage: resource.MustParse("100Gi")}
	n.Status.Capacity, n.Status.Allocatable = rl, rl.DeepCopy()
	for _, c := range []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure} {
		n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: c, Status: corev1.ConditionFalse,
			LastHeartbeatTime: t0, LastTransitionTime: t0, Reason: "KubeletHas" + string(c), Message: "kubelet is fine"})
	}
	n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue,
		LastHeartbeatTime: t0, LastTransitionTime: t0, Reason: "KubeletReady", Message: "kubelet is posting ready status"})
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.1.10"}, {Type: corev1.NodeHostName, Address: "node-1"}}
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = 10250
	n.Status.NodeInfo = corev1.NodeSystemInfo{MachineID: "m", SystemUUID: "s", BootID: "b", KernelVersion: "6.1.0",
		OSImage: "Debian GNU/Linux 12", ContainerRuntimeVersion: "klite://0.1", KubeletVersion: "v1.33.0", OperatingSystem: "linux", Architecture: "amd64"}
	for i := range 20 {
		n.Status.Images = append(n.Status.Images, corev1.ContainerImage{
			Names: []string{fmt.Sprintf("registry.example.com/app-%d@sha256:%064d", i, i), fmt.Sprintf("registry.example.com/app-%d:v%d", i, i)}, SizeBytes: int64(1e6 * (i + 1))})
	}
}

// heartbeat is the kubelet's periodic node status: new heartbeat times.
func heartbeat(obj runtime.Object) {
	n := obj.(*corev1.Node)
	for i := range n.Status.Conditions {
		n.Status.Conditions[i].LastHeartbeatTime = metav1.NewTime(t0.Add(time.Minute))
	}
}

// createdDeployment is a Deployment applied by kubectl and reported on by
// the controller.
func createdDeployment(t testing.TB, m *Manager) *history {
	live, err := m.Apply(nil, []byte(deployYAML(2, ", tier: fe", "nginx=nginx:1", "sidecar=busybox")), deployGVK, "kubectl", false)
	if err != nil {
		t.Fatal(err)
	}
	h := &history{t: t, m: m, gvk: deployGVK, obj: storedAs(live, 1)}
	return h.write(Status, "kube-controller-manager", deploymentStatus(2, 1))
}

func deploymentStatus(replicas, generation int32) func(runtime.Object) {
	return func(obj runtime.Object) {
		d := obj.(*appsv1.Deployment)
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: int64(generation), Replicas: replicas, UpdatedReplicas: replicas,
			ReadyReplicas: replicas, AvailableReplicas: replicas, Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, LastUpdateTime: t0, LastTransitionTime: t0, Reason: "MinimumReplicasAvailable"},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, LastUpdateTime: t0, LastTransitionTime: t0, Reason: "NewReplicaSetAvailable"},
			}}
	}
}

func label(k, v string) func(runtime.Object) {
	return func(obj runtime.Object) {
		m, _ := meta.Accessor(obj)
		l := m.GetLabels()
		if l == nil {
			l = map[string]string{}
		}
		if v == "" {
			delete(l, k)
		} else {
			l[k] = v
		}
		m.SetLabels(l)
	}
}

func setEntries(entries ...metav1.ManagedFieldsEntry) func(runtime.Object) {
	return func(obj runtime.Object) {
		m, _ := meta.Accessor(obj)
		m.SetManagedFields(entries)
	}
}

func noChange(runtime.Object) {}

// nodeLease is a node's Lease as the kubelet creates it.
func nodeLease(t testing.TB, m *Manager) runtime.Object {
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "node-1", Namespace: "kube-node-lease",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: "node-1", UID: "node-uid"}}},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr("node-1"), LeaseDurationSeconds: ptr(int32(40)),
			RenewTime: &metav1.MicroTime{Time: t0.Time}}}
	return newHistory(t, m, leaseGVK, "kubelet", l).live()
}

// renew is the kubelet renewing its node lease.
func renew(obj runtime.Object) {
	l := obj.(*coordinationv1.Lease)
	l.Spec.RenewTime = &metav1.MicroTime{Time: t0.Add(10 * time.Second)}
}
