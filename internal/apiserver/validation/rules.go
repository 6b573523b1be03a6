package validation

import (
	"k8s.io/apimachinery/pkg/api/meta"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// object is a typed API object with standard metadata.
type object interface {
	runtime.Object
	metav1.Object
}

// rules describes how one kind is validated. Every func field may be nil.
type rules[T object] struct {
	// name checks metadata.name; nil means a DNS subdomain.
	name apimachineryvalidation.ValidateNameFunc
	// namespaced says whether metadata.namespace is required (true) or
	// forbidden (false).
	namespaced bool
	// validate checks the object's content, on create and on update.
	validate func(obj T) field.ErrorList
	// create holds the checks that apply only to a new object.
	create func(obj T) field.ErrorList
	// update checks what an update may not change (immutable fields).
	update func(obj, old T) field.ErrorList
	// status checks a write to the status subresource.
	status func(obj, old T) field.ErrorList
}

func check[T object](op operation, r rules[T], obj T, oldObj runtime.Object) field.ErrorList {
	if op == opCreate {
		errs := validateMeta(obj, r.namespaced, r.name)
		errs = append(errs, call(r.validate, obj)...)
		return append(errs, call(r.create, obj)...)
	}
	old, ok := oldObj.(T)
	if !ok {
		return typeMismatch(obj, oldObj)
	}
	errs := validateMetaUpdate(obj, old)
	if op == opStatus {
		return append(errs, call2(r.status, obj, old)...)
	}
	errs = append(errs, call(r.validate, obj)...)
	return append(errs, call2(r.update, obj, old)...)
}

func call[T any](f func(T) field.ErrorList, obj T) field.ErrorList {
	if f == nil {
		return nil
	}
	return f(obj)
}

func call2[T any](f func(T, T) field.ErrorList, obj, old T) field.ErrorList {
	if f == nil {
		return nil
	}
	return f(obj, old)
}

var metadataPath = field.NewPath("metadata")

// validateMeta checks metadata on create: name, namespace scope, labels,
// annotations, owner references, finalizers and managed fields.
func validateMeta(obj metav1.Object, namespaced bool, nameFn apimachineryvalidation.ValidateNameFunc) field.ErrorList {
	if nameFn == nil {
		nameFn = apimachineryvalidation.NameIsDNSSubdomain
	}
	return apimachineryvalidation.ValidateObjectMetaAccessor(obj, namespaced, nameFn, metadataPath)
}

// validateMetaUpdate checks metadata on update. A missing resourceVersion is
// the caller's business (unconditional updates), so that error is dropped.
func validateMetaUpdate(obj, old metav1.Object) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMetaAccessorUpdate(obj, old, metadataPath)
	rvPath := metadataPath.Child("resourceVersion").String()
	kept := errs[:0]
	for _, e := range errs {
		if e.Field != rvPath {
			kept = append(kept, e)
		}
	}
	return kept
}

// checkUnknown validates only the metadata of a kind this package does not
// know; the namespace is checked only for syntax since the scope is unknown.
func checkUnknown(op operation, obj, old runtime.Object) field.ErrorList {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil
	}
	if op == opCreate {
		return validateMeta(m, m.GetNamespace() != "", nil)
	}
	o, err := meta.Accessor(old)
	if err != nil {
		return typeMismatch(obj, old)
	}
	return validateMetaUpdate(m, o)
}
