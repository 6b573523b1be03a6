package validation

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Limits of a Job's pod failure policy.
const (
	maxPodFailurePolicyRules = 20
	maxExitCodeValues        = 255
)

var podFailurePolicyActions = []batchv1.PodFailurePolicyAction{
	batchv1.PodFailurePolicyActionCount, batchv1.PodFailurePolicyActionFailIndex,
	batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyActionIgnore,
}

func validatePodFailurePolicy(s *batchv1.JobSpec, p *field.Path) field.ErrorList {
	rulesPath := p.Child("rules")
	var errs field.ErrorList
	if n := len(s.PodFailurePolicy.Rules); n > maxPodFailurePolicyRules {
		errs = append(errs, field.TooMany(rulesPath, n, maxPodFailurePolicyRules))
	}
	names := sets.New[string]()
	for _, c := range append(append([]corev1.Container{}, s.Template.Spec.InitContainers...), s.Template.Spec.Containers...) {
		names.Insert(c.Name)
	}
	for i := range s.PodFailurePolicy.Rules {
		errs = append(errs, validatePodFailurePolicyRule(s, &s.PodFailurePolicy.Rules[i], rulesPath.Index(i), names)...)
	}
	return errs
}

func validatePodFailurePolicyRule(s *batchv1.JobSpec, r *batchv1.PodFailurePolicyRule, p *field.Path, names sets.Set[string]) field.ErrorList {
	var errs field.ErrorList
	actionPath := p.Child("action")
	switch {
	case r.Action == "":
		errs = append(errs, field.Required(actionPath, fmt.Sprintf("valid values: %q", podFailurePolicyActions)))
	case r.Action == batchv1.PodFailurePolicyActionFailIndex && s.BackoffLimitPerIndex == nil:
		errs = append(errs, field.Invalid(actionPath, r.Action, "requires the backoffLimitPerIndex to be set"))
	default:
		errs = append(errs, supported(r.Action, actionPath, podFailurePolicyActions...)...)
	}
	switch {
	case r.OnExitCodes == nil && len(r.OnPodConditions) == 0:
		errs = append(errs, field.Invalid(p, field.OmitValueType{}, "specifying one of OnExitCodes and OnPodConditions is required"))
	case r.OnExitCodes != nil && len(r.OnPodConditions) > 0:
		errs = append(errs, field.Invalid(p, field.OmitValueType{}, "specifying both OnExitCodes and OnPodConditions is not supported"))
	}
	if r.OnExitCodes != nil {
		errs = append(errs, validateOnExitCodes(r.OnExitCodes, p.Child("onExitCodes"), names)...)
	}
	for j, c := range r.OnPodConditions {
		cp := p.Child("onPodConditions").Index(j)
		if c.Type == "" {
			errs = append(errs, field.Required(cp.Child("type"), ""))
		} else {
			errs = append(errs, qualifiedName(string(c.Type), cp.Child("type"))...)
		}
		errs = append(errs, supported(c.Status, cp.Child("status"), corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown)...)
	}
	return errs
}

func validateOnExitCodes(r *batchv1.PodFailurePolicyOnExitCodesRequirement, p *field.Path, names sets.Set[string]) field.ErrorList {
	var errs field.ErrorList
	if r.ContainerName != nil && !names.Has(*r.ContainerName) {
		errs = append(errs, field.Invalid(p.Child("containerName"), *r.ContainerName, "must be one of the container or initContainer names in the pod template"))
	}
	errs = append(errs, supported(r.Operator, p.Child("operator"),
		batchv1.PodFailurePolicyOnExitCodesOpIn, batchv1.PodFailurePolicyOnExitCodesOpNotIn)...)
	vp := p.Child("values")
	switch n := len(r.Values); {
	case n == 0:
		errs = append(errs, field.Required(vp, "at least one value is required"))
	case n > maxExitCodeValues:
		errs = append(errs, field.TooMany(vp, n, maxExitCodeValues))
	}
	for i, v := range r.Values {
		if v == 0 && r.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn {
			errs = append(errs, field.Invalid(vp.Index(i), v, "must not be 0 for the In operator"))
		}
		if i > 0 && v <= r.Values[i-1] {
			errs = append(errs, field.Invalid(vp.Index(i), v, "must be ordered and unique"))
		}
	}
	return errs
}
