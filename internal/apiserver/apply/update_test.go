package apply

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// updateCase is one write over a stored object: its history, what the
// write changes, through which subresource and by whom, and whether the
// shortcut takes it (false: it must decline and leave it to the general path).
type updateCase struct {
	name    string
	live    func(testing.TB, *Manager) runtime.Object
	gvk     schema.GroupVersionKind
	sub     string
	manager string
	change  func(runtime.Object)
	fast    bool
}

func updateCases() []updateCase {
	pod := func(steps ...func(runtime.Object)) func(testing.TB, *Manager) runtime.Object {
		return func(t testing.TB, m *Manager) runtime.Object {
			h := newHistory(t, m, podGVK, "kube-controller-manager", controllerPod()).write("binding", "kube-scheduler", bind)
			for _, s := range steps {
				h.write(Status, "kubelet", s)
			}
			return h.live()
		}
	}
	running := pod(kubeletStarting, kubeletRunning)
	node := func(t testing.TB, m *Manager) runtime.Object { return registeredNode(t, m).live() }
	deploy := func(t testing.TB, m *Manager) runtime.Object { return createdDeployment(t, m).live() }
	cm := func(t testing.TB, m *Manager) runtime.Object { return configMapHistory(t, m, 1).live() }
	return []updateCase{
		{"kubelet first pod status", pod(), podGVK, Status, "kubelet", kubeletStarting, true},
		{"kubelet pod status running", pod(kubeletStarting), podGVK, Status, "kubelet", kubeletRunning, true},
		{"kubelet pod status removes fields", running, podGVK, Status, "kubelet", kubeletTerminated, true},
		{"pod status write changing nothing", running, podGVK, Status, "kubelet", noChange, true},
		{"second manager takes a status field", running, podGVK, Status, "node-controller", podNotReady, true},
		{"status write sending labels too", running, podGVK, Status, "kubelet", both(label("x", "y"), kubeletTerminated), true},
		{"status write sending its own managedFields", running, podGVK, Status, "kubelet", both(setEntries(customEntry()), kubeletTerminated), true},
		{"kubelet taking back another status writer's fields", afterNodeController, podGVK, Status, "kubelet", podReady, true},
		{"kubelet after another status writer", afterNodeController, podGVK, Status, "kubelet", podMessage, true},
		{"kubectl label via PUT", running, podGVK, "", "kubectl-label", label("env", "prod"), true},
		{"PUT removes a label another manager owns", running, podGVK, "", "kubectl-edit", label("tier", ""), true},
		{"PUT changes a container another manager owns", running, podGVK, "", "kubectl-edit", podImage("registry.example.com/web:2"), true},
		{"PUT without resourceVersion", running, podGVK, "", "kubectl-edit", both(label("env", "prod"), resourceVersion("")), true},
		{"PUT changing nothing", running, podGVK, "", "kubectl-edit", noChange, true},
		{"PUT without managedFields", running, podGVK, "", "kubectl-edit", both(setEntries(), label("env", "prod")), true},
		{"PUT resetting managedFields", running, podGVK, "", "kubectl-edit", both(resetEntries(), label("env", "prod")), true},
		{"PUT resetting with an empty entry", running, podGVK, "", "kubectl-edit", both(setEntries(metav1.ManagedFieldsEntry{}), label("env", "prod")), true},
		{"PUT with its own managedFields", running, podGVK, "", "kubectl-edit", both(setEntries(customEntry()), label("env", "prod")), true},
		{"PUT with undecodable managedFields", running, podGVK, "", "kubectl-edit", both(setEntries(metav1.ManagedFieldsEntry{Manager: "x"}), label("env", "prod")), false},
		{"empty manager name", running, podGVK, Status, "", kubeletTerminated, true},
		{"pod without managedFields", withoutEntries(running, true), podGVK, "", "kubectl-label", label("env", "prod"), true},
		{"pod without managedFields nor uid", withoutEntries(running, false), podGVK, "", "kubectl-label", label("env", "prod"), true},
		{"node heartbeat", node, nodeGVK, Status, "kubelet", heartbeat, true},
		{"node label by a second manager", node, nodeGVK, "", "kubectl-label", label("role", "edge"), true},
		{"node taint by a controller", node, nodeGVK, "", "kube-controller-manager", taint, true},
		{"node lease renewal", nodeLease, leaseGVK, "", "kubelet", renew, true},
		{"node lease taken over", nodeLease, leaseGVK, "", "kube-controller-manager", both(renew, leaseHolder("other")), true},
		{"deployment status", deploy, deployGVK, Status, "kube-controller-manager", deploymentStatus(3, 2), true},
		{"deployment status changing nothing", deploy, deployGVK, Status, "kube-controller-manager", deploymentStatus(2, 1), true},
		{"PUT over an applier's spec", deploy, deployGVK, "", "kubectl-edit", deploymentSpec, true},
		{"PUT over an applier's spec, generation bumped", deploy, deployGVK, "", "kubectl-edit", both(deploymentSpec, nextGeneration), true},
		{"configmap data by a second manager", cm, cmGVK, "", "editor", cmData("k0", "changed", "new", "v"), true},
		{"configmap data removed", cm, cmGVK, "", "editor", cmData("k0", ""), true},
		{"non-canonical fieldsV1", reformatted(cm), cmGVK, "", "editor", cmData("new", "v"), true},
		{"entry owning nothing", plusEntry(cm, metav1.ManagedFieldsEntry{Manager: "idle", Operation: metav1.ManagedFieldsOperationUpdate,
			APIVersion: "v1", FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{}`)}}), cmGVK, "", "editor", cmData("new", "v"), true},
		{"entry owning inside an atomic field", plusPodEntry(running, `{"f:spec":{"f:nodeSelector":{"f:kubernetes.io/os":{}}}}`),
			podGVK, "", "kubectl-edit", label("env", "prod"), true},
		{"entry owning managedFields", plusPodEntry(running, `{"f:metadata":{"f:managedFields":{}}}`),
			podGVK, "", "kubectl-edit", label("env", "prod"), false},
		{"entry of another apiVersion", plusEntry(cm, metav1.ManagedFieldsEntry{Manager: "old", Operation: metav1.ManagedFieldsOperationUpdate,
			APIVersion: "v1beta1", FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:data":{}}`)}}), cmGVK, "", "editor", cmData("new", "v"), false},
		{"ten updaters", func(t testing.TB, m *Manager) runtime.Object { return configMapHistory(t, m, 9).live() }, cmGVK, "", "editor", cmData("new", "v"), true},
		{"eleven updaters", func(t testing.TB, m *Manager) runtime.Object { return configMapHistory(t, m, 10).live() }, cmGVK, "", "editor", cmData("new", "v"), false},
	}
}

// The shortcut for updates records exactly what upstream's general field
// manager records for the same write, or declines it.
func TestUpdateFieldsMatchTheGeneralPath(t *testing.T) {
	m := newUpdateManager(t)
	for _, tc := range updateCases() {
		t.Run(tc.name, func(t *testing.T) {
			live := tc.live(t, m)
			next := live.DeepCopyObject()
			tc.change(next)
			before := live.DeepCopyObject()
			start := time.Now()
			in := next.DeepCopyObject()
			u := m.updaters[target{tc.gvk, tc.sub}]
			if got := u.update(live, in, tc.gvk, tc.manager); got != tc.fast {
				t.Fatalf("shortcut taken = %v, want %v", got, tc.fast)
			}
			slow := generalUpdate(t, m, live.DeepCopyObject(), next.DeepCopyObject(), tc.gvk, tc.sub, tc.manager)
			viaManager, err := m.UpdateSubresource(live, next.DeepCopyObject(), tc.gvk, tc.sub, tc.manager)
			if err != nil {
				t.Fatal(err)
			}
			if tc.fast {
				sameUpdate(t, start, in, slow)
			}
			sameUpdate(t, start, viaManager, slow)
			if !equality.Semantic.DeepEqual(live, before) {
				t.Fatal("the update changed the live object")
			}
		})
	}
}

// sameUpdate holds fast equal to slow: the same object, and the same
// entries in the same order with byte-equal fieldsV1; the entries the
// write stamped carry the time of the write, the others their own.
func sameUpdate(t *testing.T, start time.Time, fast, slow runtime.Object) {
	t.Helper()
	fe, se := entriesOf(t, fast), entriesOf(t, slow)
	if len(fe) != len(se) || (fe == nil) != (se == nil) {
		t.Fatalf("shortcut recorded %d entries, general path %d:\n%s\n%s", len(fe), len(se), dump(fe), dump(se))
	}
	for i := range fe {
		f, s := fe[i], se[i]
		if f.Manager != s.Manager || f.Operation != s.Operation || f.APIVersion != s.APIVersion ||
			f.FieldsType != s.FieldsType || f.Subresource != s.Subresource || !bytes.Equal(f.FieldsV1.Raw, s.FieldsV1.Raw) ||
			!sameTime(start, f.Time, s.Time) {
			t.Fatalf("entry %d differs:\nshortcut %s\ngeneral  %s", i, dump(fe), dump(se))
		}
	}
	fc, sc := fast.DeepCopyObject(), slow.DeepCopyObject()
	for _, o := range []runtime.Object{fc, sc} {
		m, _ := meta.Accessor(o)
		m.SetManagedFields(nil)
	}
	if !equality.Semantic.DeepEqual(fc, sc) {
		t.Fatalf("objects differ beyond managedFields:\n%v\n%v", fc, sc)
	}
}

// sameTime: both unset, both stamped by this write, or the same time.
func sameTime(start time.Time, f, s *metav1.Time) bool {
	switch {
	case f == nil || s == nil:
		return f == s
	case !s.Time.Before(start):
		return !f.Time.Before(start) && !f.Time.After(time.Now())
	}
	return f.Time.Equal(s.Time)
}

func dump(entries []metav1.ManagedFieldsEntry) string {
	b, _ := json.MarshalIndent(entries, "", " ")
	return string(b)
}

func both(changes ...func(runtime.Object)) func(runtime.Object) {
	return func(obj runtime.Object) {
		for _, c := range changes {
			c(obj)
		}
	}
}

func resetEntries() func(runtime.Object) {
	return func(obj runtime.Object) {
		m, _ := meta.Accessor(obj)
		m.SetManagedFields([]metav1.ManagedFieldsEntry{})
	}
}

func customEntry() metav1.ManagedFieldsEntry {
	return metav1.ManagedFieldsEntry{Manager: "importer", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1",
		Time: &metav1.Time{Time: time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)}, FieldsType: "FieldsV1",
		FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:labels":{"f:app":{},"f:tier":{}}},"f:status":{"f:phase":{}}}`)}}
}

func afterNodeController(t testing.TB, m *Manager) runtime.Object {
	return runningPod(t, m).write(Status, "node-controller", podNotReady).live()
}

func podReady(obj runtime.Object) {
	p := obj.(*corev1.Pod)
	p.Status.Conditions[2].Status, p.Status.Conditions[2].Reason = corev1.ConditionTrue, ""
	p.Status.Message = "back"
}

func podMessage(obj runtime.Object) { obj.(*corev1.Pod).Status.Message = "hello" }

func resourceVersion(rv string) func(runtime.Object) {
	return func(obj runtime.Object) {
		m, _ := meta.Accessor(obj)
		m.SetResourceVersion(rv)
	}
}

func nextGeneration(obj runtime.Object) {
	m, _ := meta.Accessor(obj)
	m.SetGeneration(m.GetGeneration() + 1)
}

func podNotReady(obj runtime.Object) {
	p := obj.(*corev1.Pod)
	p.Status.Conditions[2].Status, p.Status.Conditions[2].Reason = corev1.ConditionFalse, "NodeLost"
}

func podImage(image string) func(runtime.Object) {
	return func(obj runtime.Object) { obj.(*corev1.Pod).Spec.Containers[0].Image = image }
}

func taint(obj runtime.Object) {
	n := obj.(*corev1.Node)
	n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "node.kubernetes.io/unreachable", Effect: corev1.TaintEffectNoSchedule})
}

func deploymentSpec(obj runtime.Object) {
	d := obj.(*appsv1.Deployment)
	d.Spec.Replicas = ptr(int32(5))
	d.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	d.Spec.Template.Spec.Containers[1].Args = []string{"sleep", "1d"}
}

// cmData sets the given keys to values; an empty value removes the key.
func cmData(kv ...string) func(runtime.Object) {
	return func(obj runtime.Object) {
		c := obj.(*corev1.ConfigMap)
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(c.Data, kv[i])
			} else {
				c.Data[kv[i]] = kv[i+1]
			}
		}
	}
}

// configMapHistory is a ConfigMap written by the given number of managers, one key each.
func configMapHistory(t testing.TB, m *Manager, managers int) *history {
	h := newHistory(t, m, cmGVK, "creator", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "ns"},
		Data: map[string]string{"k0": "v"}})
	for i := 1; i < managers; i++ {
		key := "k" + string(rune('0'+i))
		h.write("", "writer-"+key, cmData(key, "v"))
	}
	return h
}

func withoutEntries(live func(testing.TB, *Manager) runtime.Object, uid bool) func(testing.TB, *Manager) runtime.Object {
	return func(t testing.TB, m *Manager) runtime.Object {
		obj := live(t, m)
		a, _ := meta.Accessor(obj)
		a.SetManagedFields(nil)
		if !uid {
			a.SetUID("")
		}
		return obj
	}
}

// reformatted indents every entry's fieldsV1, as a client might send them.
func reformatted(live func(testing.TB, *Manager) runtime.Object) func(testing.TB, *Manager) runtime.Object {
	return func(t testing.TB, m *Manager) runtime.Object {
		obj := live(t, m)
		a, _ := meta.Accessor(obj)
		entries := a.GetManagedFields()
		for i := range entries {
			var buf bytes.Buffer
			if err := json.Indent(&buf, entries[i].FieldsV1.Raw, "", "  "); err != nil {
				t.Fatal(err)
			}
			entries[i].FieldsV1.Raw = buf.Bytes()
		}
		return obj
	}
}

func plusEntry(live func(testing.TB, *Manager) runtime.Object, e metav1.ManagedFieldsEntry) func(testing.TB, *Manager) runtime.Object {
	return func(t testing.TB, m *Manager) runtime.Object {
		obj := live(t, m)
		a, _ := meta.Accessor(obj)
		e.Time = &metav1.Time{Time: time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC)}
		a.SetManagedFields(append(a.GetManagedFields(), e))
		return obj
	}
}

func plusPodEntry(live func(testing.TB, *Manager) runtime.Object, fields string) func(testing.TB, *Manager) runtime.Object {
	return plusEntry(live, metav1.ManagedFieldsEntry{Manager: "old-client", Operation: metav1.ManagedFieldsOperationUpdate,
		APIVersion: "v1", FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(fields)}})
}

func leaseHolder(h string) func(runtime.Object) {
	return func(obj runtime.Object) { obj.(*coordinationv1.Lease).Spec.HolderIdentity = &h }
}
