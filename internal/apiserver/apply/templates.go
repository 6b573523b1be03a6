package apply

import (
	"reflect"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/schema"
)

// templateCacheSize bounds each of a templates cache's two generations.
const templateCacheSize = 128

// maxTemplateBytes bounds the data of an object kept as a template, so
// the templates of a kind hold at most 2*templateCacheSize times as much.
const maxTemplateBytes = 64 << 10

// refreshAfter is how many owned fields may differ from a template
// before the creator replaces it with the object just created.
const refreshAfter = 4

// template is an object the creator has recorded, with what its creator
// owns. Templates are shared and never modified.
type template struct {
	obj runtime.Object // as created, without managedFields
	set *fieldpath.Set // the fields its creator owns
	raw []byte         // set encoded as fieldsV1; nil when set is empty
}

// templates holds one kind's recently created objects, keyed by the UID
// of their controller ("" for objects without one): a controller creates
// its objects from one template, so the next one mostly sets the same
// fields to the same values. It keeps two generations of at most
// templateCacheSize entries and drops the older when the newer fills.
type templates struct {
	mu       sync.Mutex
	cur, old map[string]*template
}

func newTemplates() *templates {
	return &templates{cur: map[string]*template{}, old: map[string]*template{}}
}

// get returns the template of key, or nil.
func (c *templates) get(key string) *template {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.cur[key]
	if !ok {
		if t, ok = c.old[key]; ok {
			c.addLocked(key, t)
		}
	}
	return t
}

// put makes t the template of key.
func (c *templates) put(key string, t *template) {
	c.mu.Lock()
	c.addLocked(key, t)
	c.mu.Unlock()
}

func (c *templates) addLocked(key string, t *template) {
	if _, ok := c.cur[key]; !ok && len(c.cur) >= templateCacheSize {
		c.old, c.cur = c.cur, make(map[string]*template, templateCacheSize)
	}
	c.cur[key] = t
}

// layout is how the creator compares objects of one Go struct type with
// a template: field by field, descending into the plain structs (see
// plainStruct) that the schema merges field by field, comparing every
// other field whole (a leaf).
type layout struct {
	typ    reflect.Type
	fields []layoutField
}

type layoutField struct {
	index int
	name  string  // the field's JSON name
	sub   *layout // nil for a leaf
}

// newLayout builds the layout of t, which the schema types as tr; top
// says t is the kind's type, whose TypeMeta is left out. It fails when t
// is not a struct the schema merges field by field, or has a field its
// JSON inlines (whose fields would have no path of their own).
func newLayout(t reflect.Type, s *schema.Schema, tr schema.TypeRef, top bool) (*layout, bool) {
	atom, ok := s.Resolve(tr)
	if !ok || atom.Map == nil || atom.Map.ElementRelationship == schema.Atomic || t.Kind() != reflect.Struct {
		return nil, false
	}
	l := &layout{typ: t}
	for i := range t.NumField() {
		f := t.Field(i)
		if top && f.Type == typeMetaType {
			continue
		}
		name, skip, inline := jsonField(f)
		switch {
		case inline:
			return nil, false
		case skip:
			continue
		}
		lf := layoutField{index: i, name: name}
		if sf, ok := atom.Map.FindField(name); ok && plainStruct(f) {
			lf.sub, _ = newLayout(f.Type, s, sf.Type, false) // a leaf when it fails
		}
		l.fields = append(l.fields, lf)
	}
	return l, true
}

// jsonField reads field f's JSON tag as structured-merge-diff does: its
// name, whether it is left out, whether it is inlined. An unexported
// embedded field, which it may read but the walk cannot copy, counts as
// inlined.
func jsonField(f reflect.StructField) (name string, skip, inline bool) {
	tag := f.Tag.Get("json")
	if (!f.IsExported() && !f.Anonymous) || tag == "-" {
		return "", true, false
	}
	name, _, _ = strings.Cut(tag, ",")
	if name == "" {
		name = f.Name
		inline = f.Anonymous
	}
	return name, false, inline || !f.IsExported()
}

// changedFields returns a new object of obj's type holding only the
// leaves of l in which obj differs from tmpl in a way that may change
// the fields its creator owns (see sameFields), with obj's values, every
// other field left zero; and the paths of those leaves. Comparing the
// kind's zero object with the returned object finds, under those paths,
// exactly what comparing it with obj finds, and nothing elsewhere: a
// structured-merge-diff comparison of a map it merges field by field is
// the union of the comparisons of its fields, a struct field is present
// in every object of its type, and a zero field compares equal with the
// zero object's. Elsewhere, obj's creator owns what tmpl's did. ok is
// false when tmpl and obj are not pointers to structs of l's type.
func (l *layout) changedFields(tmpl, obj runtime.Object) (n runtime.Object, paths []fieldpath.Path, ok bool) {
	tv, ov := reflect.ValueOf(tmpl), reflect.ValueOf(obj)
	if tv.Type() != ov.Type() || ov.Kind() != reflect.Pointer || ov.Type().Elem() != l.typ || tv.IsNil() || ov.IsNil() {
		return nil, nil, false
	}
	np := reflect.New(l.typ)
	w := fieldWalker{}
	w.walk(l, np.Elem(), tv.Elem(), ov.Elem())
	n, ok = np.Interface().(runtime.Object)
	return n, w.paths, ok
}

// fieldWalker collects the paths of the leaves that differ.
type fieldWalker struct {
	path  fieldpath.Path
	paths []fieldpath.Path
}

// walk copies into dst the leaves of l in which the structs t and o
// differ in what they own, recording their paths.
func (w *fieldWalker) walk(l *layout, dst, t, o reflect.Value) {
	for i := range l.fields {
		f := &l.fields[i]
		tf, of := t.Field(f.index), o.Field(f.index)
		if f.sub != nil {
			w.path = append(w.path, fieldpath.PathElement{FieldName: &f.name})
			w.walk(f.sub, dst.Field(f.index), tf, of)
			w.path = w.path[:len(w.path)-1]
			continue
		}
		if equal(tf, of) || sameFields(tf, of) {
			continue
		}
		dst.Field(f.index).Set(of)
		p := make(fieldpath.Path, len(w.path), len(w.path)+1)
		copy(p, w.path)
		w.paths = append(w.paths, append(p, fieldpath.PathElement{FieldName: &f.name}))
	}
}

// sameFields says the leaves t and o, of one type, own the same fields
// whatever their values: both are scalars the schema cannot have typed
// otherwise (no JSON marshaler of their own) and neither is empty (so
// both are present and differ from the zero object's zero or absent
// value), or both are non-empty maps of strings with the same keys (a
// field per key, or the map whole when the schema makes it atomic). A
// leaf of the walk is a struct field, never an item of a list, so never a
// list key.
func sameFields(t, o reflect.Value) bool {
	if t.Type().Implements(marshalerType) || reflect.PointerTo(t.Type()).Implements(marshalerType) {
		return false
	}
	switch t.Kind() {
	case reflect.String:
		return t.Len() > 0 && o.Len() > 0
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return t.Int() != 0 && o.Int() != 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return t.Uint() != 0 && o.Uint() != 0
	case reflect.Map:
		tm, ok := t.Interface().(map[string]string)
		return ok && len(tm) > 0 && sameKeys(tm, o.Interface().(map[string]string))
	}
	return false
}

func sameKeys(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}
