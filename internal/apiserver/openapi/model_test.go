package openapi

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestDefinitionName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ  reflect.Type
		want string
	}{
		{reflect.TypeFor[corev1.Pod](), "io.k8s.api.core.v1.Pod"},
		{reflect.TypeFor[metav1.ObjectMeta](), "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
		{reflect.TypeFor[resource.Quantity](), "io.k8s.apimachinery.pkg.api.resource.Quantity"},
		{reflect.TypeFor[intstr.IntOrString](), "io.k8s.apimachinery.pkg.util.intstr.IntOrString"},
		{reflect.TypeFor[runtime.RawExtension](), "io.k8s.apimachinery.pkg.runtime.RawExtension"},
	}
	for _, tc := range tests {
		if got := definitionName(tc.typ); got != tc.want {
			t.Errorf("definitionName(%v) = %q, want %q", tc.typ, got, tc.want)
		}
	}
}

func TestSpecialTypeSchemas(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		typ     reflect.Type
		dialect dialect
		want    obj // keys that must be present with these values
		absent  []string
	}{
		{"duration v2", reflect.TypeFor[metav1.Duration](), dialectV2, obj{"type": "string"}, []string{"properties", "format"}},
		{"micro time v2", reflect.TypeFor[metav1.MicroTime](), dialectV2, obj{"type": "string", "format": "date-time"}, []string{"properties"}},
		{"time v3", reflect.TypeFor[metav1.Time](), dialectV3, obj{"type": "string", "format": "date-time"}, []string{"oneOf"}},
		{"quantity v2", reflect.TypeFor[resource.Quantity](), dialectV2, obj{"type": "string"}, []string{"oneOf", "format"}},
		{"quantity v3", reflect.TypeFor[resource.Quantity](), dialectV3,
			obj{"oneOf": []any{obj{"type": "string"}, obj{"type": "number"}}}, []string{"type"}},
		{"int-or-string v3", reflect.TypeFor[intstr.IntOrString](), dialectV3,
			obj{"format": "int-or-string", "oneOf": []any{obj{"type": "integer"}, obj{"type": "string"}}}, []string{"type"}},
		{"raw extension", reflect.TypeFor[runtime.RawExtension](), dialectV2, obj{"type": "object"}, []string{"properties"}},
		{"fields v1", reflect.TypeFor[metav1.FieldsV1](), dialectV3, obj{"type": "object"}, []string{"properties"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newModel()
			ref := m.refFor(tc.typ)
			if ref.kind != kindRef {
				t.Fatalf("%v is not a named definition", tc.typ)
			}
			got := tc.dialect.definitionSchema(m.defs[ref.ref])
			for k, v := range tc.want {
				if !reflect.DeepEqual(got[k], v) {
					t.Errorf("%s = %#v, want %#v", k, got[k], v)
				}
			}
			for _, k := range tc.absent {
				if _, ok := got[k]; ok {
					t.Errorf("unexpected %s: %#v", k, got[k])
				}
			}
			if got["description"] == "" || got["description"] == nil {
				t.Error("no description")
			}
		})
	}
}

// node is a recursive type: walking it must terminate.
type node struct {
	Name     string  `json:"name"`
	Children []node  `json:"children,omitempty"`
	Parent   *node   `json:"parent,omitempty"`
	Skipped  string  `json:"-"`
	hidden   string  //nolint:unused // unexported fields are not properties
	Score    float64 `json:"score,omitzero"`
}

func TestRecursiveTypeTerminates(t *testing.T) {
	t.Parallel()
	m := newModel()
	ref := m.refFor(reflect.TypeFor[node]())
	def := m.defs[ref.ref]
	var names []string
	for _, f := range def.fields {
		names = append(names, f.name)
	}
	if !reflect.DeepEqual(names, []string{"name", "children", "parent", "score"}) {
		t.Errorf("fields = %v", names)
	}
	s := dialectV2.definitionSchema(def)
	if !reflect.DeepEqual(s["required"], []any{"name"}) {
		t.Errorf("required = %v, want [name]", s["required"])
	}
}
