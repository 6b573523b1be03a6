package validation

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	selectorPath = specPath.Child("selector")
	templatePath = specPath.Child("template")
)

// validateWorkloadSelector checks a required, non-empty selector that
// matches the template's labels. kind names the workload in the
// empty-selector message.
func validateWorkloadSelector(sel *metav1.LabelSelector, tmplLabels map[string]string, kind string) field.ErrorList {
	if sel == nil {
		return field.ErrorList{field.Required(selectorPath, "")}
	}
	errs := labelSelector(sel, selectorPath)
	if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(selectorPath, sel, "empty selector is invalid for "+kind))
	}
	return append(errs, selectorMatchesTemplate(sel, tmplLabels, specPath)...)
}

// validateAlwaysTemplate checks a long-running controller's pod template:
// restartPolicy Always and no activeDeadlineSeconds. Upstream reports the
// latter as Forbidden for StatefulSets and Invalid for the others.
func validateAlwaysTemplate(t *corev1.PodTemplateSpec, kind string, extraVolumes ...string) field.ErrorList {
	errs := validatePodTemplateSpec(t, templatePath, extraVolumes...)
	errs = append(errs, restartAlways(t.Spec.RestartPolicy, templatePath)...)
	if ads := t.Spec.ActiveDeadlineSeconds; ads != nil {
		p := templatePath.Child("spec", "activeDeadlineSeconds")
		msg := fmt.Sprintf("activeDeadlineSeconds in %s is not Supported", kind)
		if kind == "StatefulSet" {
			errs = append(errs, field.Forbidden(p, msg))
		} else {
			errs = append(errs, field.Invalid(p, *ads, msg))
		}
	}
	return errs
}

func selectorImmutable(sel, old *metav1.LabelSelector) field.ErrorList {
	return immutable(sel, old, selectorPath)
}

func deploymentRules() rules[*appsv1.Deployment] {
	return rules[*appsv1.Deployment]{
		namespaced: true,
		validate:   validateDeployment,
		update: func(d, old *appsv1.Deployment) field.ErrorList {
			return selectorImmutable(d.Spec.Selector, old.Spec.Selector)
		},
		status: func(d, old *appsv1.Deployment) field.ErrorList {
			s := d.Status
			errs := validateReplicaCounts(replicaCounts{
				replicas: s.Replicas, ready: s.ReadyReplicas, available: s.AvailableReplicas,
				updated: s.UpdatedReplicas, observedGeneration: s.ObservedGeneration,
			})
			errs = append(errs, nonNegative(int64(s.UnavailableReplicas), statusPath.Child("unavailableReplicas"))...)
			if s.UpdatedReplicas > s.Replicas {
				errs = append(errs, field.Invalid(statusPath.Child("updatedReplicas"), s.UpdatedReplicas, "cannot be greater than status.replicas"))
			}
			return append(errs, validateCollisionCount(s.CollisionCount, old.Status.CollisionCount)...)
		},
	}
}

func validateCollisionCount(n, old *int32) field.ErrorList {
	p := statusPath.Child("collisionCount")
	errs := nonNegative32(n, p)
	if old != nil && (n == nil || *n < *old) {
		errs = append(errs, field.Invalid(p, n, "cannot be decremented"))
	}
	return errs
}

func validateDeployment(d *appsv1.Deployment) field.ErrorList {
	s := &d.Spec
	errs := nonNegative32(s.Replicas, specPath.Child("replicas"))
	errs = append(errs, validateWorkloadSelector(s.Selector, s.Template.Labels, "deployment")...)
	errs = append(errs, validateAlwaysTemplate(&s.Template, "ReplicaSet")...)
	errs = append(errs, validateDeploymentStrategy(&s.Strategy, specPath.Child("strategy"))...)
	errs = append(errs, nonNegative(int64(s.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	errs = append(errs, nonNegative32(s.RevisionHistoryLimit, specPath.Child("revisionHistoryLimit"))...)
	if pd := s.ProgressDeadlineSeconds; pd != nil {
		p := specPath.Child("progressDeadlineSeconds")
		errs = append(errs, nonNegative32(pd, p)...)
		if *pd <= s.MinReadySeconds {
			errs = append(errs, field.Invalid(p, *pd, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

func validateDeploymentStrategy(s *appsv1.DeploymentStrategy, path *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if s.RollingUpdate != nil {
			return field.ErrorList{field.Forbidden(path.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'")}
		}
	case appsv1.RollingUpdateDeploymentStrategyType:
		ru := s.RollingUpdate
		p := path.Child("rollingUpdate")
		if ru == nil {
			return field.ErrorList{field.Required(p, "this should be defaulted and never be nil")}
		}
		errs := intOrPercent(ru.MaxUnavailable, p.Child("maxUnavailable"))
		errs = append(errs, intOrPercent(ru.MaxSurge, p.Child("maxSurge"))...)
		if isZeroIntOrPercent(ru.MaxUnavailable) && isZeroIntOrPercent(ru.MaxSurge) {
			errs = append(errs, field.Invalid(p.Child("maxUnavailable"), ru.MaxUnavailable, "may not be 0 when `maxSurge` is 0"))
		}
		return append(errs, notMoreThan100Percent(ru.MaxUnavailable, p.Child("maxUnavailable"))...)
	default:
		return field.ErrorList{field.NotSupported(path.Child("type"), s.Type, []appsv1.DeploymentStrategyType{
			appsv1.RecreateDeploymentStrategyType, appsv1.RollingUpdateDeploymentStrategyType})}
	}
	return nil
}

func replicaSetRules() rules[*appsv1.ReplicaSet] {
	return rules[*appsv1.ReplicaSet]{
		namespaced: true,
		validate: func(rs *appsv1.ReplicaSet) field.ErrorList {
			s := &rs.Spec
			errs := nonNegative32(s.Replicas, specPath.Child("replicas"))
			errs = append(errs, nonNegative(int64(s.MinReadySeconds), specPath.Child("minReadySeconds"))...)
			errs = append(errs, validateWorkloadSelector(s.Selector, s.Template.Labels, "deployment")...)
			return append(errs, validateAlwaysTemplate(&s.Template, "ReplicaSet")...)
		},
		update: func(rs, old *appsv1.ReplicaSet) field.ErrorList {
			return selectorImmutable(rs.Spec.Selector, old.Spec.Selector)
		},
		status: func(rs, _ *appsv1.ReplicaSet) field.ErrorList {
			s := rs.Status
			return validateReplicaCounts(replicaCounts{
				replicas: s.Replicas, fullyLabeled: s.FullyLabeledReplicas, ready: s.ReadyReplicas,
				available: s.AvailableReplicas, observedGeneration: s.ObservedGeneration,
			})
		},
	}
}

func daemonSetRules() rules[*appsv1.DaemonSet] {
	return rules[*appsv1.DaemonSet]{
		namespaced: true,
		validate:   validateDaemonSet,
		update: func(ds, old *appsv1.DaemonSet) field.ErrorList {
			return selectorImmutable(ds.Spec.Selector, old.Spec.Selector)
		},
		status: func(ds, old *appsv1.DaemonSet) field.ErrorList {
			s := ds.Status
			var errs field.ErrorList
			for name, v := range map[string]int32{
				"currentNumberScheduled": s.CurrentNumberScheduled, "numberMisscheduled": s.NumberMisscheduled,
				"desiredNumberScheduled": s.DesiredNumberScheduled, "numberReady": s.NumberReady,
				"updatedNumberScheduled": s.UpdatedNumberScheduled, "numberAvailable": s.NumberAvailable,
				"numberUnavailable": s.NumberUnavailable,
			} {
				errs = append(errs, nonNegative(int64(v), statusPath.Child(name))...)
			}
			errs = append(errs, nonNegative(s.ObservedGeneration, statusPath.Child("observedGeneration"))...)
			return append(errs, validateCollisionCount(s.CollisionCount, old.Status.CollisionCount)...)
		},
	}
}

func validateDaemonSet(ds *appsv1.DaemonSet) field.ErrorList {
	s := &ds.Spec
	errs := validateWorkloadSelector(s.Selector, s.Template.Labels, "daemonset")
	errs = append(errs, validateAlwaysTemplate(&s.Template, "DaemonSet")...)
	errs = append(errs, nonNegative(int64(s.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	errs = append(errs, nonNegative32(s.RevisionHistoryLimit, specPath.Child("revisionHistoryLimit"))...)
	p := specPath.Child("updateStrategy")
	switch s.UpdateStrategy.Type {
	case appsv1.OnDeleteDaemonSetStrategyType:
	case appsv1.RollingUpdateDaemonSetStrategyType:
		if s.UpdateStrategy.RollingUpdate == nil {
			return append(errs, field.Required(p.Child("rollingUpdate"), ""))
		}
		errs = append(errs, validateDaemonSetRollingUpdate(s.UpdateStrategy.RollingUpdate, p.Child("rollingUpdate"))...)
	default:
		errs = append(errs, field.NotSupported(p, s.UpdateStrategy, []string{
			string(appsv1.RollingUpdateDaemonSetStrategyType), string(appsv1.OnDeleteDaemonSetStrategyType)}))
	}
	return errs
}

func validateDaemonSetRollingUpdate(ru *appsv1.RollingUpdateDaemonSet, p *field.Path) field.ErrorList {
	errs := intOrPercent(ru.MaxUnavailable, p.Child("maxUnavailable"))
	errs = append(errs, intOrPercent(ru.MaxSurge, p.Child("maxSurge"))...)
	errs = append(errs, notMoreThan100Percent(ru.MaxUnavailable, p.Child("maxUnavailable"))...)
	errs = append(errs, notMoreThan100Percent(ru.MaxSurge, p.Child("maxSurge"))...)
	hasUnavailable, hasSurge := !isZeroIntOrPercent(ru.MaxUnavailable), !isZeroIntOrPercent(ru.MaxSurge)
	switch {
	case hasUnavailable && hasSurge:
		errs = append(errs, field.Invalid(p.Child("maxSurge"), ru.MaxSurge, "may not be set when maxUnavailable is non-zero"))
	case !hasUnavailable && !hasSurge:
		errs = append(errs, field.Required(p.Child("maxUnavailable"), "cannot be 0 when maxSurge is 0"))
	}
	return errs
}

func controllerRevisionRules() rules[*appsv1.ControllerRevision] {
	return rules[*appsv1.ControllerRevision]{
		namespaced: true,
		validate: func(cr *appsv1.ControllerRevision) field.ErrorList {
			var errs field.ErrorList
			if cr.Data.Raw == nil && cr.Data.Object == nil {
				errs = append(errs, field.Required(field.NewPath("data"), "data is mandatory"))
			}
			return append(errs, nonNegative(cr.Revision, field.NewPath("revision"))...)
		},
		update: func(cr, old *appsv1.ControllerRevision) field.ErrorList {
			return immutable(cr.Data, old.Data, field.NewPath("data"))
		},
	}
}
