package validation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// standardContainerResources are the native resources a container may name.
var standardContainerResources = []corev1.ResourceName{
	corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage,
}

// isNativeResource reports whether a resource name belongs to Kubernetes
// (no domain, or a kubernetes.io domain).
func isNativeResource(name corev1.ResourceName) bool {
	s := string(name)
	return !strings.Contains(s, "/") || strings.Contains(s, "kubernetes.io/")
}

func isHugePages(name corev1.ResourceName) bool {
	return strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix)
}

// overcommitAllowed reports whether requests may be below limits.
func overcommitAllowed(name corev1.ResourceName) bool {
	return isNativeResource(name) && !isHugePages(name)
}

// validateResourceName checks a resource name as a qualified name, and that a
// native one is a standard container resource.
func validateContainerResourceName(name corev1.ResourceName, path *field.Path) field.ErrorList {
	errs := qualifiedName(string(name), path)
	if len(errs) > 0 {
		return errs
	}
	if !strings.Contains(string(name), "/") && !isHugePages(name) && !isStandardContainerResource(name) {
		return field.ErrorList{field.Invalid(path, name, "must be a standard resource for containers")}
	}
	return nil
}

func isStandardContainerResource(name corev1.ResourceName) bool {
	for _, r := range standardContainerResources {
		if r == name {
			return true
		}
	}
	return false
}

// validateQuantityValue checks a quantity is not negative, and whole for
// resources that are counted.
func validateQuantityValue(name corev1.ResourceName, q resource.Quantity, path *field.Path) field.ErrorList {
	errs := nonNegativeQuantity(q, path)
	if !isNativeResource(name) && q.MilliValue()%1000 != 0 {
		errs = append(errs, field.Invalid(path, q.String(), "must be an integer"))
	}
	return errs
}

func validateResources(r *corev1.ResourceRequirements, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	limPath, reqPath := path.Child("limits"), path.Child("requests")
	for _, name := range sortedResourceNames(r.Limits) {
		p := limPath.Key(string(name))
		errs = append(errs, validateContainerResourceName(name, p)...)
		errs = append(errs, validateQuantityValue(name, r.Limits[name], p)...)
	}
	for _, name := range sortedResourceNames(r.Requests) {
		q := r.Requests[name]
		p := reqPath.Key(string(name))
		errs = append(errs, validateContainerResourceName(name, p)...)
		errs = append(errs, validateQuantityValue(name, q, p)...)
		limit, ok := r.Limits[name]
		switch {
		case ok && !overcommitAllowed(name) && q.Cmp(limit) != 0:
			errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be equal to %s limit of %s", name, limit.String())))
		case ok && q.Cmp(limit) > 0:
			errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, limit.String())))
		case !ok && !overcommitAllowed(name):
			errs = append(errs, field.Required(limPath, "Limit must be set for non overcommitable resources"))
		}
	}
	return errs
}

// validateResourceList checks names and quantities of a quota or limit list.
func validateResourceList(list corev1.ResourceList, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, name := range sortedResourceNames(list) {
		p := path.Key(string(name))
		errs = append(errs, qualifiedName(string(name), p)...)
		errs = append(errs, nonNegativeQuantity(list[name], p)...)
	}
	return errs
}
