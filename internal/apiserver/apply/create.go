package apply

import (
	"bytes"
	"reflect"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
)

// creator records the owner of a created object without the general update
// machinery, which types the (empty) live object, converts both objects,
// decodes and re-encodes managedFields and runs a chain of managers on
// every write: on a create with no managedFields in the request there is
// nothing to merge, so the creator owns exactly what the object sets. The
// result is the one upstream's field manager computes (a test holds the
// two to it): the fields added to the kind's zero object, less the reset
// fields and the metadata no manager owns.
//
// Typing and comparing a whole object is most of a create's cost, and a
// controller creates its objects from one template, so the creator keeps
// an object each controller created (see templates) and types only the
// fields in which the next one differs from it in what it may own (see
// changedFields): the owned fields of the rest are the template's, and
// when they all are (the objects differ only in name, uid, label values
// and the like) so are its encoded fieldsV1.
type creator struct {
	types   managedfields.TypeConverter
	zero    *typed.TypedValue // the kind's zero object, typed once
	version fieldpath.APIVersion
	reset   fieldpath.Filter // nil when nothing is reset
	layout  *layout          // nil when objects of the kind are not compared with templates
	recent  *templates
	now     func() time.Time
}

// unowned are the fields upstream never records an owner for.
var unowned = fieldpath.NewSet(
	fieldpath.MakePathOrDie("apiVersion"),
	fieldpath.MakePathOrDie("kind"),
	fieldpath.MakePathOrDie("metadata"),
	fieldpath.MakePathOrDie("metadata", "name"),
	fieldpath.MakePathOrDie("metadata", "namespace"),
	fieldpath.MakePathOrDie("metadata", "creationTimestamp"),
	fieldpath.MakePathOrDie("metadata", "selfLink"),
	fieldpath.MakePathOrDie("metadata", "uid"),
	fieldpath.MakePathOrDie("metadata", "clusterName"),
	fieldpath.MakePathOrDie("metadata", "generation"),
	fieldpath.MakePathOrDie("metadata", "managedFields"),
	fieldpath.MakePathOrDie("metadata", "resourceVersion"),
)

func newCreator(cfg Config, k Kind) (*creator, error) {
	zero, err := cfg.Scheme.New(k.GVK)
	if err != nil {
		return nil, err
	}
	zero.GetObjectKind().SetGroupVersionKind(k.GVK)
	tv, err := cfg.TypeConverter.ObjectToTyped(zero, typed.AllowDuplicates)
	if err != nil {
		return nil, err
	}
	c := &creator{types: cfg.TypeConverter, zero: tv, version: fieldpath.APIVersion(k.GVK.GroupVersion().String()),
		recent: newTemplates(), now: time.Now}
	if f := resetFields(k, ""); f != nil {
		c.reset = f[c.version]
	}
	if t := reflect.TypeOf(zero); t.Kind() == reflect.Pointer {
		c.layout, _ = newLayout(t.Elem(), tv.Schema(), tv.TypeRef(), true)
	}
	return c, nil
}

// create sets obj's managedFields to one Update entry of manager owning
// every field obj sets. It reports false, leaving obj alone, when obj
// already carries managedFields: those are honoured by the general path.
func (c *creator) create(obj runtime.Object, gvk schema.GroupVersionKind, manager string) (bool, error) {
	m, err := meta.Accessor(obj)
	if err != nil || len(m.GetManagedFields()) > 0 {
		return false, nil
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	key := controllerOf(m)
	t, fresh, err := c.fromTemplate(c.recent.get(key), obj, gvk)
	if err != nil {
		return false, err
	}
	if t == nil {
		if t, err = c.fromScratch(obj); err != nil {
			return false, err
		}
		fresh = true
	}
	if fresh && c.layout != nil && !sizeOver(reflect.ValueOf(obj), maxTemplateBytes) {
		t.obj = withoutManagedFields(obj)
		c.recent.put(key, t)
	}
	if t.raw == nil {
		m.SetManagedFields(nil)
		return true, nil
	}
	m.SetManagedFields([]metav1.ManagedFieldsEntry{{
		Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: string(c.version),
		Time: &metav1.Time{Time: c.now().UTC()}, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: bytes.Clone(t.raw)},
	}})
	return true, nil
}

// controllerOf is the UID of the controller of the object m, or "".
func controllerOf(m metav1.Object) string {
	for _, r := range m.GetOwnerReferences() {
		if r.Controller != nil && *r.Controller {
			return string(r.UID)
		}
	}
	return ""
}

// fromScratch types obj and compares it with the kind's zero object; the
// template it returns has no object yet.
func (c *creator) fromScratch(obj runtime.Object) (*template, error) {
	tv, err := c.types.ObjectToTyped(obj, typed.AllowDuplicates)
	if err != nil {
		return nil, err
	}
	set, err := c.owned(tv)
	if err != nil {
		return nil, err
	}
	return c.template(set)
}

// fromTemplate derives what obj's creator owns from t, a template of
// obj's kind (or nil), typing only the fields in which obj differs from
// t's object. It returns t itself when obj owns what t's creator owned,
// and nil when it cannot compare obj with t; fresh says the template it
// returns is to replace t (it has no object yet) because obj differs
// from t in more than refreshAfter owned fields.
func (c *creator) fromTemplate(t *template, obj runtime.Object, gvk schema.GroupVersionKind) (_ *template, fresh bool, _ error) {
	if t == nil || c.layout == nil {
		return nil, false, nil
	}
	n, paths, ok := c.layout.changedFields(t.obj, obj)
	if !ok {
		return nil, false, nil
	}
	changed := &fieldpath.Set{}
	for _, p := range paths {
		if !unowned.Has(p) {
			changed.Insert(p)
		}
	}
	if changed.Empty() {
		return t, false, nil
	}
	n.GetObjectKind().SetGroupVersionKind(gvk)
	tv, err := c.types.ObjectToTyped(n, typed.AllowDuplicates)
	if err != nil {
		return nil, false, err
	}
	part, err := c.owned(tv)
	if err != nil {
		return nil, false, err
	}
	set := t.set.RecursiveDifference(changed).Union(part)
	if changed.Size() > refreshAfter {
		t, err = c.template(set)
		return t, true, err
	}
	if set.Equals(t.set) {
		return t, false, nil
	}
	raw, err := encode(set)
	return &template{obj: t.obj, set: set, raw: raw}, false, err
}

// owned is what the creator of tv owns: the fields tv adds to or changes
// in the kind's zero object, less the reset fields and those no one owns.
func (c *creator) owned(tv *typed.TypedValue) (*fieldpath.Set, error) {
	cmp, err := c.zero.Compare(tv)
	if err != nil {
		return nil, err
	}
	set := cmp.Added.Union(cmp.Modified)
	if c.reset != nil {
		set = c.reset.Filter(set)
	}
	return set.Difference(unowned), nil
}

// template makes a template, without its object, whose creator owns set.
func (c *creator) template(set *fieldpath.Set) (*template, error) {
	raw, err := encode(set)
	if err != nil {
		return nil, err
	}
	return &template{set: set, raw: raw}, nil
}

// withoutManagedFields is a copy of obj for a template.
func withoutManagedFields(obj runtime.Object) runtime.Object {
	cp := obj.DeepCopyObject()
	if m, err := meta.Accessor(cp); err == nil {
		m.SetManagedFields(nil)
	}
	return cp
}

// encode is set as fieldsV1, or nil when set is empty.
func encode(set *fieldpath.Set) ([]byte, error) {
	if set.Empty() {
		return nil, nil
	}
	return set.ToJSON()
}
