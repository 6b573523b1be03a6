package apply

import (
	"encoding/json"
	"reflect"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// diffParts returns two new objects of live's type that hold only the
// fields in which live and next differ, each side its own value, every
// field they share left zero in both. Comparing them finds exactly what
// comparing live and next finds, apart from the top-level fields in skip
// (which the caller's filter drops anyway) and managedFields (which the
// caller checks no one owns): a structured-merge-diff comparison of two
// objects is the union of the comparisons of their fields, and a struct
// field is always present, so zeroing a shared field on both sides
// neither adds nor hides a difference. Leaves are compared with
// reflect.DeepEqual: Go values that are equal type to equal values.
// differ says some field differs; ok is false when the objects are not
// pointers to structs of one type, or are unstructured.
func diffParts(live, next runtime.Object, skip map[string]bool) (l, n runtime.Object, differ, ok bool) {
	if _, u := live.(runtime.Unstructured); u {
		return nil, nil, false, false
	}
	lv, nv := reflect.ValueOf(live), reflect.ValueOf(next)
	if lv.Type() != nv.Type() || lv.Kind() != reflect.Pointer || lv.Elem().Kind() != reflect.Struct || lv.IsNil() || nv.IsNil() {
		return nil, nil, false, false
	}
	t := lv.Elem().Type()
	lp, np := reflect.New(t), reflect.New(t)
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type == typeMetaType || skip[jsonName(f)] {
			continue
		}
		if f.Type == objectMetaType {
			differ = diffMeta(lp.Elem().Field(i), np.Elem().Field(i), lv.Elem().Field(i), nv.Elem().Field(i)) || differ
			continue
		}
		differ = diffField(f, lp.Elem().Field(i), np.Elem().Field(i), lv.Elem().Field(i), nv.Elem().Field(i)) || differ
	}
	l, ok = lp.Interface().(runtime.Object)
	if !ok {
		return nil, nil, false, false
	}
	return l, np.Interface().(runtime.Object), differ, true
}

// diffMeta is diffStruct for ObjectMeta, leaving out managedFields.
func diffMeta(dl, dr, l, r reflect.Value) bool {
	lm, rm := l.Interface().(metav1.ObjectMeta), r.Interface().(metav1.ObjectMeta)
	lm.ManagedFields, rm.ManagedFields = nil, nil
	return diffStruct(dl, dr, reflect.ValueOf(&lm).Elem(), reflect.ValueOf(&rm).Elem())
}

var (
	typeMetaType   = reflect.TypeFor[metav1.TypeMeta]()
	objectMetaType = reflect.TypeFor[metav1.ObjectMeta]()
	marshalerType  = reflect.TypeFor[json.Marshaler]()
)

// diffStruct copies into dl and dr the fields of the structs l and r that
// differ, and says whether any did.
func diffStruct(dl, dr, l, r reflect.Value) bool {
	t := l.Type()
	differ := false
	for i := range t.NumField() {
		differ = diffField(t.Field(i), dl.Field(i), dr.Field(i), l.Field(i), r.Field(i)) || differ
	}
	return differ
}

// diffField copies field f of l and r into dl and dr when they differ,
// descending into plain structs.
func diffField(f reflect.StructField, dl, dr, l, r reflect.Value) bool {
	switch {
	case !f.IsExported():
		return false
	case plainStruct(f):
		return diffStruct(dl, dr, l, r)
	case reflect.DeepEqual(l.Addr().Interface(), r.Addr().Interface()):
		return false
	}
	dl.Set(l)
	dr.Set(r)
	return true
}

// plainStruct says field f is a struct that types to a map of its fields
// and is never left out: not a JSON marshaler (times, quantities), not
// omitzero.
func plainStruct(f reflect.StructField) bool {
	if f.Type.Kind() != reflect.Struct || reflect.PointerTo(f.Type).Implements(marshalerType) {
		return false
	}
	_, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
	for _, o := range strings.Split(opts, ",") {
		if o == "omitzero" {
			return false
		}
	}
	return true
}

// jsonName is the name a struct field has in JSON.
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		return f.Name
	}
	return name
}
