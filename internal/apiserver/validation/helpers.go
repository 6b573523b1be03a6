package validation

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Upstream's shared messages.
const (
	isNegativeErrorMsg   = "must be greater than or equal to 0"
	isNotPositiveMsg     = "must be greater than zero"
	immutableErrorMsg    = "field is immutable"
	selectorMismatchMsg  = "`selector` does not match template `labels`"
	emptySelectorMessage = "empty selector is invalid for deployment"
)

func nonNegative(value int64, path *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateNonnegativeField(value, path)
}

func nonNegative32(value *int32, path *field.Path) field.ErrorList {
	if value == nil {
		return nil
	}
	return nonNegative(int64(*value), path)
}

func nonNegative64(value *int64, path *field.Path) field.ErrorList {
	if value == nil {
		return nil
	}
	return nonNegative(*value, path)
}

func immutable(newVal, oldVal any, path *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateImmutableField(newVal, oldVal, path)
}

func semanticEqual(a, b any) bool { return equality.Semantic.DeepEqual(a, b) }

// invalidEach turns the messages of a utilvalidation check into errors.
func invalidEach(path *field.Path, value any, msgs []string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range msgs {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}

func dnsLabel(value string, path *field.Path) field.ErrorList {
	return invalidEach(path, value, utilvalidation.IsDNS1123Label(value))
}

func dnsSubdomain(value string, path *field.Path) field.ErrorList {
	return invalidEach(path, value, utilvalidation.IsDNS1123Subdomain(value))
}

func qualifiedName(value string, path *field.Path) field.ErrorList {
	return invalidEach(path, value, utilvalidation.IsQualifiedName(value))
}

func requiredString(value string, path *field.Path) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	return nil
}

// supported checks that value is one of allowed; an empty value is Required.
func supported[T ~string](value T, path *field.Path, allowed ...T) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return field.ErrorList{field.NotSupported(path, value, allowed)}
}

func labelSelector(sel *metav1.LabelSelector, path *field.Path) field.ErrorList {
	return metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, path)
}

// selectorMatchesTemplate checks that a workload's selector selects the pods
// its template produces.
func selectorMatchesTemplate(sel *metav1.LabelSelector, tmplLabels map[string]string, specPath *field.Path) field.ErrorList {
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || sel == nil {
		return nil
	}
	if !selector.Matches(labels.Set(tmplLabels)) {
		return field.ErrorList{field.Invalid(specPath.Child("template", "metadata", "labels"), tmplLabels, selectorMismatchMsg)}
	}
	return nil
}

func nonNegativeQuantity(q resource.Quantity, path *field.Path) field.ErrorList {
	if q.Sign() < 0 {
		return field.ErrorList{field.Invalid(path, q.String(), isNegativeErrorMsg)}
	}
	return nil
}

func positiveQuantity(q resource.Quantity, path *field.Path) field.ErrorList {
	if q.Sign() <= 0 {
		return field.ErrorList{field.Invalid(path, q.String(), isNotPositiveMsg)}
	}
	return nil
}

// intOrPercent checks a non-negative integer or a percentage like "25%".
func intOrPercent(v *intstr.IntOrString, path *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	if v.Type == intstr.Int {
		return nonNegative(int64(v.IntValue()), path)
	}
	return invalidEach(path, v, utilvalidation.IsValidPercent(v.StrVal))
}

// percentValue returns the percentage of a percent IntOrString, or -1.
func percentValue(v *intstr.IntOrString) int {
	if v == nil || v.Type != intstr.String || !strings.HasSuffix(v.StrVal, "%") {
		return -1
	}
	var n int
	if _, err := fmt.Sscanf(strings.TrimSuffix(v.StrVal, "%"), "%d", &n); err != nil {
		return -1
	}
	return n
}

// notMoreThan100Percent rejects a percentage above 100%.
func notMoreThan100Percent(v *intstr.IntOrString, path *field.Path) field.ErrorList {
	if percentValue(v) > 100 {
		return field.ErrorList{field.Invalid(path, v, "must not be greater than 100%")}
	}
	return nil
}

// isZeroIntOrPercent reports whether v is 0 or "0%".
func isZeroIntOrPercent(v *intstr.IntOrString) bool {
	if v == nil {
		return true
	}
	if v.Type == intstr.Int {
		return v.IntValue() == 0
	}
	return percentValue(v) == 0
}

func portNumber(port int32, path *field.Path) field.ErrorList {
	return invalidEach(path, port, utilvalidation.IsValidPortNum(int(port)))
}

func protocol(p corev1.Protocol, path *field.Path) field.ErrorList {
	return supported(p, path, corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP)
}

// ipAddress checks an IP address in a field written by users.
func ipAddress(value string, path *field.Path) field.ErrorList {
	return utilvalidation.IsValidIP(path, value)
}

// sortedResourceNames gives a resource list's names in order, so errors come
// out in a stable order.
func sortedResourceNames(list corev1.ResourceList) []corev1.ResourceName {
	names := make([]corev1.ResourceName, 0, len(list))
	for n := range list {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// sortedKeys gives a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func labelValueMessages(v string) []string { return utilvalidation.IsValidLabelValue(v) }
