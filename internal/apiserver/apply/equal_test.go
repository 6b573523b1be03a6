package apply

import (
	"math"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// equal tells apart exactly the values reflect.DeepEqual tells apart.
func TestEqualAgreesWithDeepEqual(t *testing.T) {
	one := resource.MustParse("1")
	_ = one.String() // caches its string form
	for _, tc := range []struct {
		name string
		a, b any
	}{
		{"same pod", createPod(), createPod()},
		{"image differs", createPod(), podWith(func(p *corev1.Pod) { p.Spec.Containers[1].Image = "x" })},
		{"nil and empty slice", []string(nil), []string{}},
		{"nil and empty map", map[string]string(nil), map[string]string{}},
		{"map values", map[string]string{"a": "b"}, map[string]string{"a": "c"}},
		{"map keys", map[string]string{"a": "b"}, map[string]string{"c": "b"}},
		{"resource lists", corev1.ResourceList{"cpu": resource.MustParse("1")}, corev1.ResourceList{"cpu": resource.MustParse("1")}},
		{"quantity forms", resource.MustParse("1"), resource.MustParse("1000m")},
		{"quantity cached string", one, resource.MustParse("1")},
		{"nil and set pointer", (*int32)(nil), ptr(int32(0))},
		{"pointees", ptr("a"), ptr("a")},
		{"int or string", intstr.FromInt32(80), intstr.FromString("80")},
		{"raw extensions", runtime.RawExtension{Raw: []byte("{}")}, runtime.RawExtension{Raw: []byte("{}")}},
		{"interfaces of two types", []any{int32(1)}, []any{int64(1)}},
		{"NaN", math.NaN(), math.NaN()},
		{"times", metav1.Unix(5, 0), metav1.Unix(5, 0)},
		{"funcs", func() {}, func() {}},
		{"nil funcs", (func())(nil), (func())(nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := reflect.ValueOf(&tc.a).Elem().Elem(), reflect.ValueOf(&tc.b).Elem().Elem()
			want := reflect.DeepEqual(tc.a, tc.b)
			if got := equal(a, b); got != want {
				t.Errorf("equal = %v, reflect.DeepEqual = %v", got, want)
			}
		})
	}
}

func TestSizeOver(t *testing.T) {
	big := &corev1.ConfigMap{BinaryData: map[string][]byte{"b": make([]byte, 100)}}
	for _, tc := range []struct {
		name  string
		obj   any
		limit int
		want  bool
	}{
		{"pod", createPod(), 4 << 10, false},
		{"pod, tiny limit", createPod(), 64, true},
		{"string data", &corev1.ConfigMap{Data: map[string]string{"k": string(make([]byte, 100))}}, 99, true},
		{"string data within", &corev1.ConfigMap{Data: map[string]string{"k": string(make([]byte, 100))}}, 200, false},
		{"binary data", big, 99, true},
		{"binary data within", big, 200, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sizeOver(reflect.ValueOf(tc.obj), tc.limit); got != tc.want {
				t.Errorf("sizeOver = %v, want %v", got, tc.want)
			}
		})
	}
}

// Objects too big to keep are recorded but not kept as templates.
func TestBigObjectsAreNotTemplates(t *testing.T) {
	m := newManager(t)
	big := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "big"}, Data: map[string]string{"k": string(make([]byte, maxTemplateBytes+1))}}
	out, err := m.Update(nil, big, cmGVK, "creator")
	if err != nil || len(entriesOf(t, out)) != 1 {
		t.Fatalf("create: %v, %v", err, entriesOf(t, out))
	}
	if tmpl := m.creators[cmGVK].recent.get(""); tmpl != nil {
		t.Fatalf("kept %T as a template", tmpl.obj)
	}
}

// Times compare and size without reading their *time.Location (time.Local
// is set up lazily, and reading it then races with the setting up): the
// same location pointer is needed for equality, however alike two
// locations are.
func TestTimesDoNotReadTheirLocations(t *testing.T) {
	now := time.Now()
	a, b := now.In(time.FixedZone("z", 3600)), now.In(time.FixedZone("z", 3600))
	if !reflect.DeepEqual(a, b) {
		t.Fatal("fixture: DeepEqual should find the two alike")
	}
	if equal(reflect.ValueOf(a), reflect.ValueOf(b)) {
		t.Error("times in two distinct (if alike) locations compared equal")
	}
	if !equal(reflect.ValueOf(a), reflect.ValueOf(a)) || !equal(reflect.ValueOf(now.Local()), reflect.ValueOf(now.Local())) {
		t.Error("a time differs from itself")
	}
	if sizeOver(reflect.ValueOf(a), 24) || !sizeOver(reflect.ValueOf(a), 23) {
		t.Error("a time.Time counts other than 24 bytes")
	}
}
