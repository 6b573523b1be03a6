package validation

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const statefulSetUpdateForbiddenMsg = "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', " +
	"'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"

func statefulSetRules() rules[*appsv1.StatefulSet] {
	return rules[*appsv1.StatefulSet]{
		namespaced: true,
		validate:   validateStatefulSet,
		update:     validateStatefulSetUpdate,
		status: func(ss, old *appsv1.StatefulSet) field.ErrorList {
			s := ss.Status
			errs := validateReplicaCounts(replicaCounts{
				replicas: s.Replicas, ready: s.ReadyReplicas, available: s.AvailableReplicas,
				updated: s.UpdatedReplicas, observedGeneration: s.ObservedGeneration,
			})
			errs = append(errs, nonNegative(int64(s.CurrentReplicas), statusPath.Child("currentReplicas"))...)
			return append(errs, validateCollisionCount(s.CollisionCount, old.Status.CollisionCount)...)
		},
	}
}

func validateStatefulSet(ss *appsv1.StatefulSet) field.ErrorList {
	s := &ss.Spec
	var errs field.ErrorList
	switch s.PodManagementPolicy {
	case "":
		errs = append(errs, field.Required(specPath.Child("podManagementPolicy"), ""))
	case appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
	default:
		errs = append(errs, field.Invalid(specPath.Child("podManagementPolicy"), s.PodManagementPolicy,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement)))
	}
	errs = append(errs, validateStatefulSetStrategy(&s.UpdateStrategy)...)
	if rp := s.PersistentVolumeClaimRetentionPolicy; rp != nil {
		p := specPath.Child("persistentVolumeClaimRetentionPolicy")
		retain, del := appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType
		errs = append(errs, supported(rp.WhenDeleted, p.Child("whenDeleted"), retain, del)...)
		errs = append(errs, supported(rp.WhenScaled, p.Child("whenScaled"), retain, del)...)
	}
	errs = append(errs, nonNegative32(s.Replicas, specPath.Child("replicas"))...)
	errs = append(errs, nonNegative(int64(s.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	errs = append(errs, nonNegative32(s.RevisionHistoryLimit, specPath.Child("revisionHistoryLimit"))...)
	if s.Ordinals != nil {
		errs = append(errs, nonNegative(int64(s.Ordinals.Start), specPath.Child("ordinals.start"))...)
	}
	if s.ServiceName != "" {
		errs = append(errs, dnsLabel(s.ServiceName, specPath.Child("serviceName"))...)
	}
	errs = append(errs, validateWorkloadSelector(s.Selector, s.Template.Labels, "statefulset")...)
	claims := make([]string, 0, len(s.VolumeClaimTemplates))
	for i := range s.VolumeClaimTemplates {
		t := &s.VolumeClaimTemplates[i]
		claims = append(claims, t.Name)
		p := specPath.Child("volumeClaimTemplates").Index(i)
		errs = append(errs, dnsLabel(t.Name, p.Child("metadata", "name"))...)
		errs = append(errs, validatePVCSpec(&t.Spec, p.Child("spec"))...)
	}
	return append(errs, validateAlwaysTemplate(&s.Template, "StatefulSet", claims...)...)
}

func validateStatefulSetStrategy(st *appsv1.StatefulSetUpdateStrategy) field.ErrorList {
	p := specPath.Child("updateStrategy")
	switch st.Type {
	case "":
		return field.ErrorList{field.Required(p, "")}
	case appsv1.OnDeleteStatefulSetStrategyType:
		if st.RollingUpdate != nil {
			return field.ErrorList{field.Invalid(p.Child("rollingUpdate"), st.RollingUpdate,
				fmt.Sprintf("only allowed for updateStrategy '%s'", appsv1.RollingUpdateStatefulSetStrategyType))}
		}
	case appsv1.RollingUpdateStatefulSetStrategyType:
		if ru := st.RollingUpdate; ru != nil {
			rp := p.Child("rollingUpdate")
			errs := nonNegative32(ru.Partition, rp.Child("partition"))
			if ru.MaxUnavailable != nil {
				errs = append(errs, intOrPercent(ru.MaxUnavailable, rp.Child("maxUnavailable"))...)
				if isZeroIntOrPercent(ru.MaxUnavailable) {
					errs = append(errs, field.Invalid(rp.Child("maxUnavailable"), ru.MaxUnavailable, "must be greater than 0"))
				}
				errs = append(errs, notMoreThan100Percent(ru.MaxUnavailable, rp.Child("maxUnavailable"))...)
			}
			return errs
		}
	default:
		return field.ErrorList{field.Invalid(p, st, fmt.Sprintf("must be '%s' or '%s'",
			appsv1.RollingUpdateStatefulSetStrategyType, appsv1.OnDeleteStatefulSetStrategyType))}
	}
	return nil
}

// validateStatefulSetUpdate forbids changes outside the mutable fields.
func validateStatefulSetUpdate(ss, old *appsv1.StatefulSet) field.ErrorList {
	clone := ss.Spec.DeepCopy()
	clone.Replicas = old.Spec.Replicas
	clone.Template = old.Spec.Template
	clone.UpdateStrategy = old.Spec.UpdateStrategy
	clone.MinReadySeconds = old.Spec.MinReadySeconds
	clone.Ordinals = old.Spec.Ordinals
	clone.RevisionHistoryLimit = old.Spec.RevisionHistoryLimit
	clone.PersistentVolumeClaimRetentionPolicy = old.Spec.PersistentVolumeClaimRetentionPolicy
	if !semanticEqual(*clone, old.Spec) {
		return field.ErrorList{field.Forbidden(specPath, statefulSetUpdateForbiddenMsg)}
	}
	return nil
}
