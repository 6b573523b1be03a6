package apply

import (
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
type creator struct {
	types   managedfields.TypeConverter
	zero    *typed.TypedValue // the kind's zero object, typed once
	version fieldpath.APIVersion
	reset   fieldpath.Filter // nil when nothing is reset
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
	c := &creator{types: cfg.TypeConverter, zero: tv, version: fieldpath.APIVersion(k.GVK.GroupVersion().String())}
	if f := resetFields(k, ""); f != nil {
		c.reset = f[c.version]
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
	tv, err := c.types.ObjectToTyped(obj, typed.AllowDuplicates)
	if err != nil {
		return false, err
	}
	cmp, err := c.zero.Compare(tv)
	if err != nil {
		return false, err
	}
	set := cmp.Added.Union(cmp.Modified)
	if c.reset != nil {
		set = c.reset.Filter(set)
	}
	set = set.Difference(unowned)
	if set.Empty() {
		m.SetManagedFields(nil)
		return true, nil
	}
	raw, err := set.ToJSON()
	if err != nil {
		return false, err
	}
	m.SetManagedFields([]metav1.ManagedFieldsEntry{{
		Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: string(c.version),
		Time: &metav1.Time{Time: time.Now().UTC()}, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: raw},
	}})
	return true, nil
}
