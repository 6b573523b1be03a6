package apply

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
)

// createKinds are the kinds the create tests track.
func createKinds() []Kind {
	return []Kind{
		{GVK: podGVK, Status: true}, {GVK: cmGVK}, {GVK: deployGVK, Status: true, Scale: true},
		{GVK: corev1.SchemeGroupVersion.WithKind("Service"), Status: true},
		{GVK: corev1.SchemeGroupVersion.WithKind("Secret")},
		{GVK: corev1.SchemeGroupVersion.WithKind("Node"), Status: true},
		{GVK: corev1.SchemeGroupVersion.WithKind("Event")},
		{GVK: batchv1.SchemeGroupVersion.WithKind("Job"), Status: true},
	}
}

// Each create of a stream, most recording their fields from the one
// before (a template), records what upstream's general field manager
// records for it alone.
func TestCreateStreamsMatchTheGeneralPath(t *testing.T) {
	for _, tc := range []struct {
		name string
		objs []runtime.Object
	}{
		{"replicaset pods", pods(replicaSetPod, 3)},
		{"statefulset pods", pods(statefulSetPod, 3)},
		{"daemonset pods", pods(daemonSetPod, 3)},
		{"unrelated pods", pods(unrelatedPod, 3)},
		{"pod fields set, then unset", []runtime.Object{
			podWith(func(p *corev1.Pod) {
				p.Spec.Hostname, p.Spec.NodeSelector = "h", map[string]string{"a": "b"}
				p.Status.Phase = corev1.PodPending
			}),
			podWith(func(p *corev1.Pod) { p.Spec.NodeSelector = nil }),
			podWith(func(p *corev1.Pod) { p.Spec.Containers = []corev1.Container{} }),
			podWith(func(p *corev1.Pod) { p.Spec.Containers = nil }),
			podWith(func(p *corev1.Pod) { p.Spec.Containers[0].Env[0].Value = "" }),
			podWith(func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{} }),
			podWith(func(p *corev1.Pod) {
				p.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU] = resource.MustParse("1")
			}),
		}},
		{"empty and null containers", []runtime.Object{
			podWith(func(p *corev1.Pod) { p.Spec.Containers = []corev1.Container{} }),
			podWith(func(p *corev1.Pod) { p.Spec.Containers = nil }),
			podWith(func(p *corev1.Pod) { p.Spec.Containers = []corev1.Container{} }),
		}},
		{"pod metadata", []runtime.Object{
			podWith(func(p *corev1.Pod) { p.CreationTimestamp = metav1.Now(); p.GenerateName = "p-" }),
			podWith(func(p *corev1.Pod) { p.Labels["app"] = "db"; p.Finalizers = []string{} }),
			podWith(func(p *corev1.Pod) {
				p.ManagedFields = []metav1.ManagedFieldsEntry{}
				delete(p.Annotations, "kubectl.kubernetes.io/default-container")
			}),
			podWith(func(p *corev1.Pod) {
				p.Labels = nil
				p.Annotations = map[string]string{}
				p.Finalizers = []string{"f", "f"}
			}),
			podWith(func(p *corev1.Pod) { p.Namespace, p.UID, p.ResourceVersion, p.Generation = "other", "u", "3", 2 }),
			podWith(func(p *corev1.Pod) { p.DeletionGracePeriodSeconds = ptr(int64(0)) }),
		}},
		{"duplicate list items", []runtime.Object{
			podWith(func(p *corev1.Pod) { p.Spec.Containers[1].Name = "web" }),
			podWith(func(p *corev1.Pod) {}),
			podWith(func(p *corev1.Pod) { p.Spec.Containers[1].Name = "web"; p.Spec.Containers[1].Image = "x" }),
		}},
		{"controllers interleaved", []runtime.Object{replicaSetPod(0), statefulSetPod(1), replicaSetPod(2), unrelatedPod(3), statefulSetPod(4)}},
		{"configmaps, empty and null", []runtime.Object{
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Data: map[string]string{}},
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "b"}},
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Data: map[string]string{"k": ""}, Immutable: ptr(false)},
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "d"}, Data: map[string]string{"k": "v"}, BinaryData: map[string][]byte{"b": nil}},
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "e"}, BinaryData: map[string][]byte{"b": {}}},
		}},
		{"deployments", []runtime.Object{deployment(3, "web"), deployment(3, "api"), deployment(0, "api"),
			func() runtime.Object {
				d := deployment(1, "api")
				d.Spec.Replicas = nil
				d.Status.Replicas = 2
				return d
			}()}},
		{"services", []runtime.Object{service(80, corev1.ProtocolTCP), service(81, corev1.ProtocolTCP), service(81, corev1.ProtocolUDP), service(81, ""),
			func() runtime.Object { s := service(81, ""); s.Spec.Type = corev1.ServiceTypeNodePort; return s }(),
			func() runtime.Object { s := service(81, ""); s.Spec.Type = corev1.ServiceTypeClusterIP; return s }(),
			func() runtime.Object {
				s := service(81, "")
				s.Spec.Selector = map[string]string{"app": "db"}
				return s
			}(),
			func() runtime.Object {
				s := service(81, "")
				s.Spec.Selector = map[string]string{"tier": "db"}
				return s
			}(),
			func() runtime.Object { s := service(81, ""); s.Spec.Selector = map[string]string{}; return s }(),
		}},
		{"nodes", []runtime.Object{
			&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}}},
			&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2"}, Spec: corev1.NodeSpec{Unschedulable: true}},
			&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n3"}, Spec: corev1.NodeSpec{PodCIDRs: []string{}}},
		}},
		{"events, an atomic struct", []runtime.Object{
			&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e1"}, InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "a"}, Reason: "Started"},
			&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e2"}, Reason: "Started"},
			&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e3"}, InvolvedObject: corev1.ObjectReference{Name: "b"}, Count: 2},
			&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e4"}, InvolvedObject: corev1.ObjectReference{Name: "b"}, Source: corev1.EventSource{Host: "h"}, Count: 3},
			&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e5"}, InvolvedObject: corev1.ObjectReference{Name: "c"}, Source: corev1.EventSource{Host: "h"}},
		}},
		{"jobs", []runtime.Object{job(nil), job(ptr(int32(2))), job(ptr(int32(0)))}},
		{"a secret after a configmap", []runtime.Object{
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Data: map[string]string{"k": "v"}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "a"}, StringData: map[string]string{"k": "v"}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Type: corev1.SecretTypeOpaque},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(Config{Kinds: createKinds()})
			if err != nil {
				t.Fatal(err)
			}
			for i, obj := range tc.objs {
				gvk := kindOf(t, m, obj)
				fast, err := m.Update(nil, obj.DeepCopyObject(), gvk, "creator")
				if err != nil {
					t.Fatal(err)
				}
				t.Run(fmt.Sprint(i), func(t *testing.T) {
					sameEntries(t, entriesOf(t, fast), entriesOf(t, generalCreate(t, m, obj.DeepCopyObject(), gvk, "creator")))
				})
			}
		})
	}
}

// A create the type converter rejects records nothing, as through the
// general path, whether or not an earlier create of the kind was recorded.
func TestCreateOfAnUntypableObjectRecordsNothing(t *testing.T) {
	m, err := New(Config{Kinds: []Kind{{GVK: podGVK, Status: true}},
		TypeConverter: rejecting{applyconfigurations.NewTypeConverter(scheme.Scheme)}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	invalid := podWith(func(p *corev1.Pod) { p.Labels["invalid"] = "yes" })
	if _, err := m.managers[target{podGVK, ""}].Update(m.mustEmpty(t, podGVK), invalid.DeepCopy(), "creator"); err == nil {
		t.Fatal("the general path accepted the untypable pod")
	}
	for i := range 2 {
		out, err := m.Update(nil, invalid.DeepCopy(), podGVK, "creator")
		if err != nil {
			t.Fatal(err)
		}
		if got := entriesOf(t, out); len(got) != 0 {
			t.Fatalf("create %d recorded %v", i, got)
		}
		if out, err = m.Update(nil, createPod(), podGVK, "creator"); err != nil || len(entriesOf(t, out)) != 1 {
			t.Fatalf("valid create %d: %v, %v", i, err, entriesOf(t, out))
		}
	}
}

// rejecting types objects as its TypeConverter does, except those
// labelled invalid, which it rejects as a schema would.
type rejecting struct{ managedfields.TypeConverter }

func (r rejecting) ObjectToTyped(obj runtime.Object, opts ...typed.ValidationOptions) (*typed.TypedValue, error) {
	if m, err := meta.Accessor(obj); err == nil && m.GetLabels()["invalid"] != "" {
		return nil, errors.New("metadata.labels.invalid: not in the schema")
	}
	return r.TypeConverter.ObjectToTyped(obj, opts...)
}

// Creates of pods from several goroutines, sharing and replacing
// templates, each record what the general path records; with -race this
// proves the templates are shared safely.
func TestConcurrentCreates(t *testing.T) {
	m := newManager(t)
	makers := []func(int) *corev1.Pod{replicaSetPod, statefulSetPod, unrelatedPod}
	want := map[string][]metav1.ManagedFieldsEntry{}
	for i := range 12 {
		for _, pod := range makers {
			p := pod(i)
			want[p.Name] = entriesOf(t, generalCreate(t, m, p, podGVK, "creator"))
		}
	}
	got := make([][]*corev1.Pod, 4)
	var wg sync.WaitGroup
	for g := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 12 {
				p := makers[(i+g)%3](i)
				if _, err := m.Update(nil, p, podGVK, "creator"); err == nil {
					got[g] = append(got[g], p)
				}
			}
		}()
	}
	wg.Wait()
	for g := range got {
		if len(got[g]) != 12 {
			t.Fatalf("goroutine %d: %d creates succeeded", g, len(got[g]))
		}
		for _, p := range got[g] {
			sameEntries(t, p.ManagedFields, want[p.Name])
		}
	}
}

// Creates that record the same fields do not share their fieldsV1 bytes.
func TestCreatesDoNotShareFieldsV1(t *testing.T) {
	m := newManager(t)
	first, err := m.Update(nil, replicaSetPod(0), podGVK, "creator")
	if err != nil {
		t.Fatal(err)
	}
	raw := entriesOf(t, first)[0].FieldsV1.Raw
	want := bytes.Clone(raw)
	clear(raw)
	second, err := m.Update(nil, replicaSetPod(1), podGVK, "creator")
	if err != nil {
		t.Fatal(err)
	}
	if got := entriesOf(t, second)[0].FieldsV1.Raw; !bytes.Equal(got, want) {
		t.Fatalf("second create recorded %s, want %s", got, want)
	}
}

// The templates cache keeps the most recently used keys within its bound.
func TestTemplatesKeepRecentKeys(t *testing.T) {
	c := newTemplates()
	for i := range 2*templateCacheSize + 1 {
		c.put(fmt.Sprint(i), &template{})
		if i%8 == 0 {
			c.get("0") // kept in use
		}
	}
	for _, tc := range []struct {
		key  string
		want bool
	}{{"0", true}, {"1", false}, {fmt.Sprint(2 * templateCacheSize), true}, {fmt.Sprint(templateCacheSize + 1), true}} {
		if got := c.get(tc.key) != nil; got != tc.want {
			t.Errorf("key %s kept = %v, want %v", tc.key, got, tc.want)
		}
	}
	if n := len(c.cur) + len(c.old); n > 2*templateCacheSize {
		t.Errorf("cache holds %d templates, more than %d", n, 2*templateCacheSize)
	}
}

func (m *Manager) mustEmpty(t *testing.T, gvk schema.GroupVersionKind) runtime.Object {
	t.Helper()
	obj, err := m.empty(gvk)
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

func kindOf(t *testing.T, m *Manager, obj runtime.Object) schema.GroupVersionKind {
	t.Helper()
	gvks, _, err := m.scheme.ObjectKinds(obj)
	if err != nil {
		t.Fatal(err)
	}
	return gvks[0]
}

func pods(pod func(int) *corev1.Pod, n int) []runtime.Object {
	out := make([]runtime.Object, n)
	for i := range out {
		out[i] = pod(i)
	}
	return out
}

func podWith(change func(*corev1.Pod)) *corev1.Pod {
	p := createPod()
	change(p)
	return p
}

func deployment(replicas int32, app string) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: "ns"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr(replicas), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}}, Spec: createPod().Spec}}}
}

func service(port int32, protocol corev1.Protocol) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: port, Protocol: protocol}}, Selector: map[string]string{"app": "web"}}}
}

func job(completions *int32) *batchv1.Job {
	return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "ns"},
		Spec: batchv1.JobSpec{Completions: completions, Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "i"}}}}}}
}

// replicaSetPod is the i-th pod a ReplicaSet creates: all alike but for
// the name the API server generates.
func replicaSetPod(i int) *corev1.Pod {
	p := createPod()
	p.Name, p.GenerateName = fmt.Sprintf("web-7d9f-%05d", i), "web-7d9f-"
	p.UID = types.UID(fmt.Sprintf("uid-%d", i))
	p.CreationTimestamp = metav1.Now()
	p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-7d9f", UID: "rs-uid", Controller: ptr(true)}}
	return p
}

// statefulSetPod is the i-th pod of a StatefulSet: its name is also in a
// label and its hostname.
func statefulSetPod(i int) *corev1.Pod {
	p := replicaSetPod(i)
	p.GenerateName = ""
	p.Name = fmt.Sprintf("db-%d", i)
	p.Labels["statefulset.kubernetes.io/pod-name"] = p.Name
	p.Spec.Hostname, p.Spec.Subdomain = p.Name, "db"
	p.OwnerReferences[0].Kind, p.OwnerReferences[0].Name, p.OwnerReferences[0].UID = "StatefulSet", "db", "sts-uid"
	return p
}

// unrelatedPod is a pod a user creates: unlike the one before it in its
// labels, containers and volumes.
func unrelatedPod(i int) *corev1.Pod {
	p := createPod()
	p.Name = fmt.Sprintf("job-%d", i)
	p.Labels = map[string]string{fmt.Sprintf("run-%d", i): "x"}
	p.Spec.Containers[0].Name = fmt.Sprintf("main-%d", i)
	p.Spec.Containers = p.Spec.Containers[:1]
	p.Spec.Volumes[0].Name = fmt.Sprintf("v-%d", i)
	p.Spec.Containers[0].VolumeMounts[0].Name = p.Spec.Volumes[0].Name
	return p
}

// daemonSetPod is the i-th pod of a DaemonSet: its affinity names its node.
func daemonSetPod(i int) *corev1.Pod {
	p := replicaSetPod(i)
	p.OwnerReferences[0].Kind, p.OwnerReferences[0].Name, p.OwnerReferences[0].UID = "DaemonSet", "agent", "ds-uid"
	p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{
			{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{fmt.Sprintf("node-%d", i)}}}}}}}}
	return p
}
