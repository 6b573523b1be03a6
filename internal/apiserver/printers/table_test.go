package printers

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestToTableIncludeObject(t *testing.T) {
	pod := makePod("web").container("app", running(true)).obj()
	pod.Labels = map[string]string{"app": "web"}
	tests := []struct {
		include string
		check   func(t *testing.T, obj runtime.Object)
	}{
		{"Object", func(t *testing.T, obj runtime.Object) {
			if obj != runtime.Object(pod) {
				t.Errorf("row object = %T, want the pod itself", obj)
			}
		}},
		{"Metadata", checkPartial(pod)},
		{"", checkPartial(pod)},
		{"None", func(t *testing.T, obj runtime.Object) {
			if obj != nil {
				t.Errorf("row object = %T, want none", obj)
			}
		}},
	}
	for _, tt := range tests {
		t.Run("include "+tt.include, func(t *testing.T) {
			table, err := ToTable(podGK, []runtime.Object{pod}, now, tt.include, false)
			if err != nil {
				t.Fatal(err)
			}
			if table.APIVersion != "meta.k8s.io/v1" || table.Kind != "Table" {
				t.Errorf("table type = %s %s, want meta.k8s.io/v1 Table", table.APIVersion, table.Kind)
			}
			if len(table.Rows) != 1 {
				t.Fatalf("%d rows, want 1", len(table.Rows))
			}
			tt.check(t, table.Rows[0].Object.Object)
		})
	}
}

// checkPartial expects a row object that is pod's PartialObjectMetadata.
func checkPartial(pod *corev1.Pod) func(*testing.T, runtime.Object) {
	return func(t *testing.T, obj runtime.Object) {
		partial, ok := obj.(*metav1.PartialObjectMetadata)
		if !ok {
			t.Fatalf("row object = %T, want PartialObjectMetadata", obj)
		}
		if partial.APIVersion != "meta.k8s.io/v1" || partial.Kind != "PartialObjectMetadata" {
			t.Errorf("partial type = %s %s", partial.APIVersion, partial.Kind)
		}
		if partial.Name != pod.Name || partial.Namespace != pod.Namespace || partial.Labels["app"] != "web" || partial.ResourceVersion != pod.ResourceVersion {
			t.Errorf("partial metadata = %+v, want the pod's", partial.ObjectMeta)
		}
	}
}

func TestToTableHeaders(t *testing.T) {
	objs := []runtime.Object{makePod("a").container("app", nil).obj(), makePod("b").container("app", nil).obj()}
	tests := []struct {
		name      string
		noHeaders bool
		wantCols  int
	}{
		{"with headers", false, 9},
		{"without headers", true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, err := ToTable(podGK, objs, now, "None", tt.noHeaders)
			if err != nil {
				t.Fatal(err)
			}
			if len(table.ColumnDefinitions) != tt.wantCols {
				t.Errorf("%d column definitions, want %d", len(table.ColumnDefinitions), tt.wantCols)
			}
			if len(table.Rows) != 2 || table.Rows[0].Cells[0] != "a" || table.Rows[1].Cells[0] != "b" {
				t.Errorf("rows = %v, want a then b", table.Rows)
			}
		})
	}
}

func TestToTableErrors(t *testing.T) {
	tests := []struct {
		name    string
		gk      schema.GroupKind
		objs    []runtime.Object
		include string
		want    string
	}{
		{"unknown includeObject", podGK, []runtime.Object{makePod("a").obj()}, "Everything", `unrecognized includeObject value: "Everything"`},
		{"object of another kind", podGK, []runtime.Object{&corev1.Service{}}, "None", "cannot print *v1.Service as *v1.Pod"},
		{"default table needs metadata", schema.GroupKind{Kind: "Status"}, []runtime.Object{&metav1.Status{}}, "None", "object does not implement the Object interfaces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ToTable(tt.gk, tt.objs, now, tt.include, false)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestToTableUnstructured checks that objects held as unstructured content print as typed ones.
func TestToTableUnstructured(t *testing.T) {
	pod := makePod("web").container("app", restarted(waiting("CrashLoopBackOff"), 2, time.Hour)).obj()
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(pod)
	if err != nil {
		t.Fatal(err)
	}
	table, err := ToTable(podGK, []runtime.Object{&unstructured.Unstructured{Object: content}}, now, "Metadata", false)
	if err != nil {
		t.Fatal(err)
	}
	got := table.Rows[0].Cells[:4]
	want := []interface{}{"web", "0/1", "CrashLoopBackOff", "2 (60m ago)"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("cells = %v, want %v", got, want)
			break
		}
	}
}

// TestToTableStorageClassDefault checks that a list marks its effective default class:
// the newest annotated one, and of equally new ones the first by name.
func TestToTableStorageClassDefault(t *testing.T) {
	class := func(name string, created time.Duration, annotation string) runtime.Object {
		sc := &storagev1.StorageClass{ObjectMeta: objMeta(name), Provisioner: "p"}
		sc.CreationTimestamp = ago(created)
		if annotation != "" {
			sc.Annotations = map[string]string{annotation: "true"}
		}
		return sc
	}
	const ga, beta = "storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class"
	tests := []struct {
		name string
		objs []runtime.Object
		want []string
	}{
		{"none annotated", []runtime.Object{class("a", time.Hour, ""), class("b", time.Hour, "")}, []string{"a", "b"}},
		{"one annotated", []runtime.Object{class("a", time.Hour, ""), class("b", time.Hour, beta)}, []string{"a", "b (default)"}},
		{"newest wins", []runtime.Object{class("old", 2*time.Hour, ga), class("new", time.Hour, ga)}, []string{"old", "new (default)"}},
		{"tie broken by name", []runtime.Object{class("zeta", time.Hour, ga), class("alpha", time.Hour, ga)}, []string{"zeta", "alpha (default)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, err := ToTable(schema.GroupKind{Group: "storage.k8s.io", Kind: "StorageClass"}, tt.objs, now, "None", false)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range table.Rows {
				got = append(got, r.Cells[0].(string))
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("names = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAge(t *testing.T) {
	tests := []struct {
		name string
		t    metav1.Time
		want string
	}{
		{"unset", metav1.Time{}, "<unknown>"},
		{"seconds", ago(59 * time.Second), "59s"},
		{"minutes and seconds", ago(5*time.Minute + 30*time.Second), "5m30s"},
		{"hours and minutes", ago(3*time.Hour + 2*time.Minute), "3h2m"},
		{"days", ago(50 * time.Hour), "2d2h"},
		{"future beyond skew", metav1.NewTime(now.Add(time.Minute)), "<invalid>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := age(tt.t, now); got != tt.want {
				t.Errorf("age = %q, want %q", got, tt.want)
			}
		})
	}
}
