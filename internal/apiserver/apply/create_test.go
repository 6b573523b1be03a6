package apply

import (
	"bytes"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The shortcut for creates records exactly what upstream's general field
// manager records for the same create.
func TestCreateFieldsMatchTheGeneralPath(t *testing.T) {
	m, err := New(Config{Kinds: createKinds()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		obj  runtime.Object
	}{
		{"realistic pod", createPod()},
		{"pod with status", func() runtime.Object {
			p := createPod()
			p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.42.0.7",
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
			return p
		}()},
		{"bare pod", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}},
		{"generated name and owner", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "web-", Namespace: "ns", UID: "u1",
			CreationTimestamp: metav1.Now(), ResourceVersion: "7", Generation: 1,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web", UID: "u0", Controller: ptr(true)}},
			Finalizers:      []string{"example.com/keep"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}}},
		{"configmap", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "ns", Labels: map[string]string{"a": "b"}},
			Data: map[string]string{"k": "v"}, BinaryData: map[string][]byte{"b": {1, 2}}}},
		{"empty configmap", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "ns"}}},
		{"deployment", &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: "ns"},
			Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(3)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: createPod().Spec}},
			Status: appsv1.DeploymentStatus{Replicas: 3}}},
		{"service", &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ClusterIP: "10.43.0.9", ClusterIPs: []string{"10.43.0.9"},
				Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP, NodePort: 30080}},
				Selector: map[string]string{"app": "web"}}}},
		{"secret", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"}, Type: corev1.SecretTypeOpaque,
			StringData: map[string]string{"a": "b"}, Data: map[string][]byte{"c": []byte("d")}}},
		{"node", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: map[string]string{"kubernetes.io/hostname": "n"}},
			Spec:   corev1.NodeSpec{PodCIDR: "10.42.1.0/24", Taints: []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoSchedule}}},
			Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}}}},
		{"job", &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "ns"},
			Spec: batchv1.JobSpec{Completions: ptr(int32(2)), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "i", Command: []string{"true"}}}}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gvks, _, err := m.scheme.ObjectKinds(tc.obj)
			if err != nil {
				t.Fatal(err)
			}
			gvk := gvks[0]
			fast, err := m.Update(nil, tc.obj.DeepCopyObject(), gvk, "creator")
			if err != nil {
				t.Fatal(err)
			}
			slow := generalCreate(t, m, tc.obj.DeepCopyObject(), gvk, "creator")
			sameEntries(t, entriesOf(t, fast), entriesOf(t, slow))
		})
	}
}

// A create that brings its own managedFields keeps them, as upstream.
func TestCreateWithManagedFieldsTakesTheGeneralPath(t *testing.T) {
	m := newManager(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "ns", ManagedFields: []metav1.ManagedFieldsEntry{{
		Manager: "earlier", Operation: metav1.ManagedFieldsOperationApply, APIVersion: "v1", FieldsType: "FieldsV1",
		FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:data":{"f:z":{}}}`)}}}}, Data: map[string]string{"k": "v"}}
	out, err := m.Update(nil, cm, cmGVK, "creator")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range entriesOf(t, out) {
		got[e.Manager] = string(e.FieldsV1.Raw)
	}
	if got["earlier"] != `{"f:data":{"f:z":{}}}` || got["creator"] != `{"f:data":{".":{},"f:k":{}}}` {
		t.Fatalf("managedFields = %v", got)
	}
}

// generalCreate runs upstream's field manager on a create, as Update did
// before the shortcut.
func generalCreate(t *testing.T, m *Manager, obj runtime.Object, gvk schema.GroupVersionKind, manager string) runtime.Object {
	t.Helper()
	empty, err := m.empty(gvk)
	if err != nil {
		t.Fatal(err)
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	out, err := m.managers[target{gvk, ""}].Update(empty, obj, manager)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func entriesOf(t *testing.T, obj runtime.Object) []metav1.ManagedFieldsEntry {
	t.Helper()
	a, err := meta.Accessor(obj)
	if err != nil {
		t.Fatal(err)
	}
	return a.GetManagedFields()
}

func sameEntries(t *testing.T, fast, slow []metav1.ManagedFieldsEntry) {
	t.Helper()
	if len(fast) != len(slow) {
		t.Fatalf("shortcut recorded %d entries, general path %d: %v vs %v", len(fast), len(slow), fast, slow)
	}
	for i := range fast {
		f, s := fast[i], slow[i]
		if f.Manager != s.Manager || f.Operation != s.Operation || f.APIVersion != s.APIVersion ||
			f.FieldsType != s.FieldsType || f.Subresource != s.Subresource || (f.Time == nil) != (s.Time == nil) ||
			!bytes.Equal(f.FieldsV1.Raw, s.FieldsV1.Raw) {
			t.Fatalf("entry %d:\nshortcut %+v %s\ngeneral  %+v %s", i, f, f.FieldsV1.Raw, s, s.FieldsV1.Raw)
		}
	}
}

func createPod() *corev1.Pod {
	res := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
	}
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 10}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns",
			Labels:      map[string]string{"app": "web", "tier": "frontend"},
			Annotations: map[string]string{"kubectl.kubernetes.io/default-container": "web"},
		},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "web", Image: "registry.example.com/web:1", Resources: res, LivenessProbe: probe,
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
				Env: []corev1.EnvVar{{Name: "MODE", Value: "production"},
					{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
				VolumeMounts: []corev1.VolumeMount{{Name: "cache", MountPath: "/var/cache"}},
			}, {Name: "sidecar", Image: "registry.example.com/log:2", Args: []string{"--out=stdout"}}},
			Volumes:      []corev1.Volume{{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			NodeSelector: map[string]string{"kubernetes.io/os": "linux"},
			Tolerations:  []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "web", Effect: corev1.TaintEffectNoSchedule}},
		},
	}
}
