package validation

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func replicationControllerRules() rules[*corev1.ReplicationController] {
	return rules[*corev1.ReplicationController]{
		namespaced: true,
		validate:   validateReplicationController,
		status: func(rc, _ *corev1.ReplicationController) field.ErrorList {
			s := rc.Status
			return validateReplicaCounts(replicaCounts{
				replicas: s.Replicas, fullyLabeled: s.FullyLabeledReplicas, ready: s.ReadyReplicas,
				available: s.AvailableReplicas, observedGeneration: s.ObservedGeneration,
			})
		},
	}
}

func validateReplicationController(rc *corev1.ReplicationController) field.ErrorList {
	s := &rc.Spec
	errs := nonNegative(int64(s.MinReadySeconds), specPath.Child("minReadySeconds"))
	if len(s.Selector) == 0 {
		errs = append(errs, field.Required(specPath.Child("selector"), ""))
	}
	errs = append(errs, nonNegative32(s.Replicas, specPath.Child("replicas"))...)
	tp := specPath.Child("template")
	if s.Template == nil {
		return append(errs, field.Required(tp, ""))
	}
	if len(s.Selector) > 0 && !selectsAll(s.Selector, s.Template.Labels) {
		errs = append(errs, field.Invalid(tp.Child("metadata", "labels"), s.Template.Labels, selectorMismatchMsg))
	}
	errs = append(errs, validatePodTemplateSpec(s.Template, tp)...)
	errs = append(errs, restartAlways(s.Template.Spec.RestartPolicy, tp)...)
	if s.Template.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(tp.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicationController is not Supported"))
	}
	return errs
}

// selectsAll reports whether every selector label is set in lbls.
func selectsAll(selector, lbls map[string]string) bool {
	for k, v := range selector {
		if got, ok := lbls[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// restartAlways checks a controller template's restartPolicy is Always.
func restartAlways(p corev1.RestartPolicy, templatePath *field.Path) field.ErrorList {
	if p != corev1.RestartPolicyAlways {
		return field.ErrorList{field.NotSupported(templatePath.Child("spec", "restartPolicy"), p, []corev1.RestartPolicy{corev1.RestartPolicyAlways})}
	}
	return nil
}

// replicaCounts are the status counters the replica controllers share.
type replicaCounts struct {
	replicas, fullyLabeled, ready, available, updated, terminating int32
	observedGeneration                                             int64
}

func validateReplicaCounts(c replicaCounts) field.ErrorList {
	errs := nonNegative(int64(c.replicas), statusPath.Child("replicas"))
	errs = append(errs, nonNegative(int64(c.fullyLabeled), statusPath.Child("fullyLabeledReplicas"))...)
	errs = append(errs, nonNegative(int64(c.ready), statusPath.Child("readyReplicas"))...)
	errs = append(errs, nonNegative(int64(c.available), statusPath.Child("availableReplicas"))...)
	errs = append(errs, nonNegative(int64(c.updated), statusPath.Child("updatedReplicas"))...)
	errs = append(errs, nonNegative(c.observedGeneration, statusPath.Child("observedGeneration"))...)
	if c.fullyLabeled > c.replicas {
		errs = append(errs, field.Invalid(statusPath.Child("fullyLabeledReplicas"), c.fullyLabeled, "cannot be greater than status.replicas"))
	}
	if c.ready > c.replicas {
		errs = append(errs, field.Invalid(statusPath.Child("readyReplicas"), c.ready, "cannot be greater than status.replicas"))
	}
	if c.available > c.replicas {
		errs = append(errs, field.Invalid(statusPath.Child("availableReplicas"), c.available, "cannot be greater than status.replicas"))
	}
	if c.available > c.ready {
		errs = append(errs, field.Invalid(statusPath.Child("availableReplicas"), c.available, "cannot be greater than readyReplicas"))
	}
	return errs
}
