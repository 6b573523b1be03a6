package apply

import (
	"errors"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// step is one write: an apply patch when apply is set, else an ordinary
// write of update applied to a copy of the live object.
type step struct {
	manager string
	apply   string
	force   bool
	update  func(obj runtime.Object)
	sub     string

	wantCauses  []metav1.StatusCause // a 409 whose causes match (messages by prefix)
	wantMessage string               // exact message of the 409, when set
}

const webFields = `{"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},` +
	`"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{}}}}}}}`

const webFieldsNoReplicas = `{"f:spec":{"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},` +
	`"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{}}}}}}}`

const replicasFields = `{"f:spec":{"f:replicas":{}}}`

func setReplicas(n int32) func(runtime.Object) {
	return func(obj runtime.Object) { obj.(*appsv1.Deployment).Spec.Replicas = &n }
}

func TestWrites(t *testing.T) {
	cases := []struct {
		name    string
		gvk     schema.GroupVersionKind
		initial runtime.Object // the stored object before the steps, nil for none
		steps   []step
		want    []entry
		check   func(t *testing.T, obj runtime.Object)
	}{
		{
			name:  "first apply creates the object",
			gvk:   deployGVK,
			steps: []step{{manager: "a", apply: deployYAML(2, "", "nginx=nginx:1")}},
			want:  []entry{{"a", "Apply", "", webFields}},
			check: func(t *testing.T, obj runtime.Object) {
				d := obj.(*appsv1.Deployment)
				if d.Name != "web" || d.Namespace != "default" || *d.Spec.Replicas != 2 || d.Spec.Template.Spec.Containers[0].Image != "nginx:1" {
					t.Errorf("created %+v", d)
				}
			},
		},
		{
			name: "applier dropping fields removes them",
			gvk:  deployGVK,
			steps: []step{
				{manager: "a", apply: deployYAML(2, ", tier: fe", "nginx=nginx:1", "sidecar=busybox")},
				{manager: "a", apply: deployYAML(2, "", "nginx=nginx:1")},
			},
			want: []entry{{"a", "Apply", "", webFields}},
			check: func(t *testing.T, obj runtime.Object) {
				d := obj.(*appsv1.Deployment)
				if len(d.Spec.Template.Labels) != 1 || len(d.Spec.Template.Spec.Containers) != 1 {
					t.Errorf("labels %v, %d containers; want tier and sidecar gone", d.Spec.Template.Labels, len(d.Spec.Template.Spec.Containers))
				}
			},
		},
		{
			name: "a field another applier shares stays when one drops it",
			gvk:  deployGVK,
			steps: []step{
				{manager: "a", apply: deployYAML(2, ", tier: fe", "nginx=nginx:1")},
				{manager: "b", apply: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {template: {metadata: {labels: {tier: fe}}}}"},
				{manager: "a", apply: deployYAML(2, "", "nginx=nginx:1")},
			},
			// b's apply changed nothing, so it has no time and sorts first, as upstream.
			want: []entry{
				{"b", "Apply", "", `{"f:spec":{"f:template":{"f:metadata":{"f:labels":{"f:tier":{}}}}}}`},
				{"a", "Apply", "", webFields},
			},
			check: func(t *testing.T, obj runtime.Object) {
				if got := obj.(*appsv1.Deployment).Spec.Template.Labels["tier"]; got != "fe" {
					t.Errorf("tier = %q, want fe kept for b", got)
				}
			},
		},
		{
			name: "conflicting applies fail without force and name every field",
			gvk:  deployGVK,
			steps: []step{
				{manager: "a", apply: deployYAML(2, "", "nginx=nginx:1")},
				{manager: "b", apply: deployYAML(3, "", "nginx=nginx:2"),
					wantCauses: []metav1.StatusCause{
						{Type: metav1.CauseTypeFieldManagerConflict, Message: `conflict with "a"`, Field: ".spec.replicas"},
						{Type: metav1.CauseTypeFieldManagerConflict, Message: `conflict with "a"`, Field: `.spec.template.spec.containers[name="nginx"].image`},
					},
					wantMessage: "Apply failed with 2 conflicts: conflicts with \"a\":\n- .spec.replicas\n- .spec.template.spec.containers[name=\"nginx\"].image"},
			},
			want: []entry{{"a", "Apply", "", webFields}},
		},
		{
			name: "applying the same value shares the field",
			gvk:  deployGVK,
			steps: []step{
				{manager: "a", apply: deployYAML(2, "", "nginx=nginx:1")},
				{manager: "b", apply: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 2}"},
			},
			want: []entry{{"b", "Apply", "", replicasFields}, {"a", "Apply", "", webFields}},
			check: func(t *testing.T, obj runtime.Object) {
				// As upstream: an apply that changes nothing records no time, so it sorts first.
				if e := obj.(*appsv1.Deployment).ManagedFields[0]; e.Manager != "b" || e.Time != nil {
					t.Errorf("first entry %q time %v, want b without time", e.Manager, e.Time)
				}
			},
		},
		{
			name: "force takes ownership",
			gvk:  deployGVK,
			steps: []step{
				{manager: "a", apply: deployYAML(2, "", "nginx=nginx:1")},
				{manager: "b", force: true, apply: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}"},
			},
			want: []entry{{"a", "Apply", "", webFieldsNoReplicas}, {"b", "Apply", "", replicasFields}},
			check: func(t *testing.T, obj runtime.Object) {
				if got := *obj.(*appsv1.Deployment).Spec.Replicas; got != 3 {
					t.Errorf("replicas = %d, want 3", got)
				}
			},
		},
		{
			name: "an update by another manager moves ownership of what it changed",
			gvk:  deployGVK,
			steps: []step{
				{manager: "a", apply: deployYAML(2, "", "nginx=nginx:1")},
				{manager: "b", update: setReplicas(5)},
				{manager: "a", apply: deployYAML(2, "", "nginx=nginx:1"), wantCauses: []metav1.StatusCause{
					{Type: metav1.CauseTypeFieldManagerConflict, Message: `conflict with "b" using apps/v1`, Field: ".spec.replicas"},
				}},
			},
			want: []entry{{"a", "Apply", "", webFieldsNoReplicas}, {"b", "Update", "", replicasFields}},
		},
		{
			name: "containers merge by name",
			gvk:  deployGVK,
			steps: []step{
				{manager: "a", apply: deployYAML(2, "", "nginx=nginx:1")},
				{manager: "b", apply: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n" +
					"spec: {template: {spec: {containers: [{name: sidecar, image: busybox}]}}}"},
			},
			want: []entry{
				{"a", "Apply", "", webFields},
				{"b", "Apply", "", `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"sidecar\"}":{".":{},"f:image":{},"f:name":{}}}}}}}`},
			},
			check: func(t *testing.T, obj runtime.Object) {
				cs := obj.(*appsv1.Deployment).Spec.Template.Spec.Containers
				if len(cs) != 2 || cs[0].Name != "nginx" || cs[1].Name != "sidecar" {
					t.Errorf("containers %+v, want nginx then sidecar", cs)
				}
			},
		},
		{
			name: "container ports are keyed by containerPort and defaulted protocol",
			gvk:  podGVK,
			steps: []step{
				{manager: "a", apply: podYAML("{containerPort: 53}, {containerPort: 53, protocol: UDP}")},
				{manager: "a", apply: podYAML("{containerPort: 53, protocol: UDP}")},
			},
			want: []entry{{"a", "Apply", "", `{"f:spec":{"f:containers":{"k:{\"name\":\"dns\"}":{".":{},"f:image":{},"f:name":{},` +
				`"f:ports":{"k:{\"containerPort\":53,\"protocol\":\"UDP\"}":{".":{},"f:containerPort":{},"f:protocol":{}}}}}}}`}},
			check: func(t *testing.T, obj runtime.Object) {
				ports := obj.(*corev1.Pod).Spec.Containers[0].Ports
				if len(ports) != 1 || ports[0].Protocol != corev1.ProtocolUDP {
					t.Errorf("ports %+v, want only 53/UDP", ports)
				}
			},
		},
		{
			name: "status is owned only through the status subresource",
			gvk:  deployGVK,
			steps: []step{
				{manager: "a", apply: deployYAML(2, "", "nginx=nginx:1") + "status: {replicas: 4}\n"},
				{manager: "kube-controller-manager", sub: Status, update: func(obj runtime.Object) {
					obj.(*appsv1.Deployment).Status.ReadyReplicas = 1
				}},
			},
			want: []entry{
				{"a", "Apply", "", webFields},
				{"kube-controller-manager", "Update", "status", `{"f:status":{"f:readyReplicas":{}}}`},
			},
		},
		{
			name: "a scale write owns only replicas, taking them from the applier",
			gvk:  deployGVK,
			steps: []step{
				{manager: "a", apply: deployYAML(2, "", "nginx=nginx:1")},
				{manager: "kubectl", sub: Scale, update: func(obj runtime.Object) {
					d := obj.(*appsv1.Deployment)
					d.Spec.Replicas, d.Spec.Template.Labels["x"] = ptr(int32(7)), "ignored"
				}},
			},
			want: []entry{
				{"a", "Apply", "", webFieldsNoReplicas},
				{"kubectl", "Update", "scale", replicasFields},
			},
		},
		{
			name:    "first apply to an untracked object hands the rest to before-first-apply",
			gvk:     cmGVK,
			initial: stored(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "default"}, Data: map[string]string{"old": "1"}}),
			steps:   []step{{manager: "a", apply: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {new: '2'}"}},
			want: []entry{
				{"a", "Apply", "", `{"f:data":{"f:new":{}}}`},
				{"before-first-apply", "Update", "", `{"f:data":{".":{},"f:old":{}}}`},
			},
		},
		{
			name: "upstream example: apply, then updates grouped under one manager",
			gvk:  cmGVK,
			steps: []step{
				{manager: "apply_test", apply: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"test-cm","namespace":"default",` +
					`"labels":{"test-label":"test"}},"data":{"key":"value"}}`},
				{manager: "updater", update: func(obj runtime.Object) { obj.(*corev1.ConfigMap).Data["new-key"] = "value" }},
				{manager: "updater", update: func(obj runtime.Object) { obj.(*corev1.ConfigMap).Data["key"] = "new value" }},
			},
			want: []entry{
				{"apply_test", "Apply", "", `{"f:metadata":{"f:labels":{"f:test-label":{}}}}`},
				{"updater", "Update", "", `{"f:data":{"f:key":{},"f:new-key":{}}}`},
			},
			check: func(t *testing.T, obj runtime.Object) {
				for _, e := range obj.(*corev1.ConfigMap).ManagedFields {
					if e.Time == nil {
						t.Errorf("entry of %q has no time", e.Manager)
					}
				}
			},
		},
		{
			name: "create by an ordinary write owns every field it set",
			gvk:  cmGVK,
			steps: []step{{manager: "kubectl-create", update: func(obj runtime.Object) {
				cm := obj.(*corev1.ConfigMap)
				cm.Name, cm.Labels, cm.Data = "cm", map[string]string{"app": "x"}, map[string]string{"k": "v"}
			}}},
			want: []entry{{"kubectl-create", "Update", "", `{"f:data":{".":{},"f:k":{}},"f:metadata":{"f:labels":{".":{},"f:app":{}}}}`}},
		},
		{
			name: "managers that own nothing are dropped",
			gvk:  cmGVK,
			steps: []step{
				{manager: "a", apply: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: default}"},
				{manager: "a", apply: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: default}"},
			},
		},
		{
			name: "a client writing managedFields [{}] clears them",
			gvk:  cmGVK,
			steps: []step{
				{manager: "a", apply: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, labels: {x: z}}\ndata: {k: v}"},
				{manager: "b", update: func(obj runtime.Object) {
					obj.(*corev1.ConfigMap).ManagedFields = []metav1.ManagedFieldsEntry{{}}
				}},
			},
			check: func(t *testing.T, obj runtime.Object) {
				if cm := obj.(*corev1.ConfigMap); cm.Labels["x"] != "z" || cm.Data["k"] != "v" {
					t.Errorf("other fields changed: %+v", cm)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newManager(t)
			live := tc.initial
			for i, s := range tc.steps {
				live = runStep(t, m, tc.gvk, live, i, s)
			}
			if got := managed(t, live, tc.gvk.GroupVersion().String()); !slices.Equal(got, compactAll(t, tc.want)) {
				t.Errorf("managedFields:\n got %v\nwant %v", got, tc.want)
			}
			if tc.check != nil {
				tc.check(t, live)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func podYAML(ports string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata: {name: dns, namespace: default}\n" +
		"spec: {containers: [{name: dns, image: coredns, ports: [" + ports + "]}]}"
}

func compactAll(t *testing.T, es []entry) []entry {
	var out []entry
	for _, e := range es {
		e.fields = compact(t, e.fields)
		out = append(out, e)
	}
	return out
}

// runStep performs s on live and returns the stored result (live itself
// when the step expects a conflict).
func runStep(t *testing.T, m *Manager, gvk schema.GroupVersionKind, live runtime.Object, i int, s step) runtime.Object {
	t.Helper()
	var out runtime.Object
	var err error
	if s.apply != "" {
		out, err = m.ApplySubresource(live, []byte(s.apply), gvk, s.sub, s.manager, s.force)
	} else {
		next := newOrCopy(t, m, live, gvk)
		s.update(next)
		out, err = m.UpdateSubresource(live, next, gvk, s.sub, s.manager)
	}
	if s.wantCauses == nil {
		if err != nil {
			t.Fatalf("step %d (%s): %v", i, s.manager, err)
		}
		return stored(out)
	}
	checkConflict(t, err, s)
	return live
}

func newOrCopy(t *testing.T, m *Manager, live runtime.Object, gvk schema.GroupVersionKind) runtime.Object {
	if live != nil {
		return live.DeepCopyObject()
	}
	obj, err := m.scheme.New(gvk)
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

func checkConflict(t *testing.T, err error, s step) {
	t.Helper()
	var se *apierrors.StatusError
	if !errors.As(err, &se) || !apierrors.IsConflict(err) {
		t.Fatalf("%s: got %v, want a 409 Conflict", s.manager, err)
	}
	st := se.Status()
	if s.wantMessage != "" && st.Message != s.wantMessage {
		t.Errorf("message:\n got %q\nwant %q", st.Message, s.wantMessage)
	}
	if st.Details == nil || len(st.Details.Causes) != len(s.wantCauses) {
		t.Fatalf("causes %+v, want %+v", st.Details, s.wantCauses)
	}
	for i, c := range st.Details.Causes {
		w := s.wantCauses[i]
		if c.Type != w.Type || c.Field != w.Field || !strings.HasPrefix(c.Message, w.Message) {
			t.Errorf("cause %d = %+v, want %+v", i, c, w)
		}
	}
}
