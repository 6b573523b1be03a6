package apply

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

var (
	deployGVK = appsv1.SchemeGroupVersion.WithKind("Deployment")
	cmGVK     = corev1.SchemeGroupVersion.WithKind("ConfigMap")
	podGVK    = corev1.SchemeGroupVersion.WithKind("Pod")
)

func newManager(t testing.TB) *Manager {
	t.Helper()
	m, err := New(Config{Kinds: []Kind{{GVK: deployGVK, Status: true, Scale: true}, {GVK: cmGVK}, {GVK: podGVK, Status: true}}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

// stored mimics the API server storing obj: it gets a uid and a resourceVersion.
func stored(obj runtime.Object) runtime.Object {
	m, _ := meta.Accessor(obj)
	if m.GetUID() == "" {
		m.SetUID(types.UID("uid-" + m.GetName()))
	}
	m.SetResourceVersion("1")
	return obj
}

// entry is one expected managedFields entry; fields is its fieldsV1 JSON.
type entry struct {
	manager, operation, subresource, fields string
}

func (e entry) String() string {
	return fmt.Sprintf("%s %s %s %s", e.manager, e.operation, e.subresource, e.fields)
}

// managed lists obj's managedFields entries with compacted fieldsV1; it
// fails when an entry misses its apiVersion or fieldsType. (Time is not
// checked: as upstream, an apply that changes nothing records none.)
func managed(t *testing.T, obj runtime.Object, apiVersion string) []entry {
	t.Helper()
	m, _ := meta.Accessor(obj)
	var out []entry
	for _, f := range m.GetManagedFields() {
		if f.APIVersion != apiVersion || f.FieldsType != "FieldsV1" || f.FieldsV1 == nil {
			t.Errorf("entry of %q: apiVersion %q fieldsType %q", f.Manager, f.APIVersion, f.FieldsType)
		}
		var buf bytes.Buffer
		if f.FieldsV1 != nil {
			if err := json.Compact(&buf, f.FieldsV1.Raw); err != nil {
				t.Fatalf("fieldsV1 of %q: %v", f.Manager, err)
			}
		}
		out = append(out, entry{f.Manager, string(f.Operation), f.Subresource, buf.String()})
	}
	return out
}

// compact removes the white space of a JSON document written for reading.
func compact(t *testing.T, s string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		t.Fatalf("compact %q: %v", s, err)
	}
	return buf.String()
}

// deployYAML is an apply configuration of Deployment "web" with the given
// replicas, extra pod template labels and containers ("name=image").
func deployYAML(replicas int, labels string, containers ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\n")
	fmt.Fprintf(&b, "spec:\n  replicas: %d\n  selector:\n    matchLabels: {app: web}\n", replicas)
	fmt.Fprintf(&b, "  template:\n    metadata:\n      labels: {app: web%s}\n    spec:\n      containers:\n", labels)
	for _, c := range containers {
		name, image, _ := strings.Cut(c, "=")
		fmt.Fprintf(&b, "      - name: %s\n        image: %s\n", name, image)
	}
	return b.String()
}
