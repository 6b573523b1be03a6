package validation

import (
	rbacv1 "k8s.io/api/rbac/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	pathvalidation "k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	rulesPath    = field.NewPath("rules")
	roleRefPath  = field.NewPath("roleRef")
	subjectsPath = field.NewPath("subjects")
)

func roleRules() rules[*rbacv1.Role] {
	return rules[*rbacv1.Role]{
		name:       pathvalidation.ValidatePathSegmentName,
		namespaced: true,
		validate: func(r *rbacv1.Role) field.ErrorList {
			return validatePolicyRules(r.Rules, true)
		},
	}
}

func clusterRoleRules() rules[*rbacv1.ClusterRole] {
	return rules[*rbacv1.ClusterRole]{
		name: pathvalidation.ValidatePathSegmentName,
		validate: func(r *rbacv1.ClusterRole) field.ErrorList {
			errs := validatePolicyRules(r.Rules, false)
			if a := r.AggregationRule; a != nil {
				p := field.NewPath("aggregationRule", "clusterRoleSelectors")
				if len(a.ClusterRoleSelectors) == 0 {
					errs = append(errs, field.Required(p, "at least one clusterRoleSelector required if aggregationRule is non-nil"))
				}
				for i := range a.ClusterRoleSelectors {
					errs = append(errs, labelSelector(&a.ClusterRoleSelectors[i], p.Index(i))...)
				}
			}
			return errs
		},
	}
}

func validatePolicyRules(policyRules []rbacv1.PolicyRule, namespaced bool) field.ErrorList {
	var errs field.ErrorList
	for i, rule := range policyRules {
		errs = append(errs, validatePolicyRule(rule, namespaced, rulesPath.Index(i))...)
	}
	return errs
}

func validatePolicyRule(rule rbacv1.PolicyRule, namespaced bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(rule.Verbs) == 0 {
		errs = append(errs, field.Required(p.Child("verbs"), "verbs must contain at least one value"))
	}
	if len(rule.NonResourceURLs) > 0 {
		urls := p.Child("nonResourceURLs")
		if namespaced {
			errs = append(errs, field.Invalid(urls, rule.NonResourceURLs, "namespaced rules cannot apply to non-resource URLs"))
		}
		if len(rule.APIGroups) > 0 || len(rule.Resources) > 0 || len(rule.ResourceNames) > 0 {
			errs = append(errs, field.Invalid(urls, rule.NonResourceURLs, "rules cannot apply to both regular resources and non-resource URLs"))
		}
		return errs
	}
	if len(rule.APIGroups) == 0 {
		errs = append(errs, field.Required(p.Child("apiGroups"), "resource rules must supply at least one api group"))
	}
	if len(rule.Resources) == 0 {
		errs = append(errs, field.Required(p.Child("resources"), "resource rules must supply at least one resource"))
	}
	return errs
}

func roleBindingRules() rules[*rbacv1.RoleBinding] {
	return rules[*rbacv1.RoleBinding]{
		name:       pathvalidation.ValidatePathSegmentName,
		namespaced: true,
		validate: func(b *rbacv1.RoleBinding) field.ErrorList {
			return validateBinding(b.RoleRef, b.Subjects, true)
		},
		update: func(b, old *rbacv1.RoleBinding) field.ErrorList { return roleRefImmutable(b.RoleRef, old.RoleRef) },
	}
}

func clusterRoleBindingRules() rules[*rbacv1.ClusterRoleBinding] {
	return rules[*rbacv1.ClusterRoleBinding]{
		name: pathvalidation.ValidatePathSegmentName,
		validate: func(b *rbacv1.ClusterRoleBinding) field.ErrorList {
			return validateBinding(b.RoleRef, b.Subjects, false)
		},
		update: func(b, old *rbacv1.ClusterRoleBinding) field.ErrorList {
			return roleRefImmutable(b.RoleRef, old.RoleRef)
		},
	}
}

func roleRefImmutable(ref, old rbacv1.RoleRef) field.ErrorList {
	if ref != old {
		return field.ErrorList{field.Invalid(roleRefPath, ref, "cannot change roleRef")}
	}
	return nil
}

// validateBinding checks a (Cluster)RoleBinding's roleRef and subjects; only
// a namespaced RoleBinding may refer to a Role.
func validateBinding(ref rbacv1.RoleRef, subjects []rbacv1.Subject, namespaced bool) field.ErrorList {
	var errs field.ErrorList
	if ref.APIGroup != rbacv1.GroupName {
		errs = append(errs, field.NotSupported(roleRefPath.Child("apiGroup"), ref.APIGroup, []string{rbacv1.GroupName}))
	}
	kinds := []string{"ClusterRole"}
	if namespaced {
		kinds = []string{"Role", "ClusterRole"}
	}
	if !contains(kinds, ref.Kind) {
		errs = append(errs, field.NotSupported(roleRefPath.Child("kind"), ref.Kind, kinds))
	}
	if ref.Name == "" {
		errs = append(errs, field.Required(roleRefPath.Child("name"), ""))
	} else {
		errs = append(errs, invalidEach(roleRefPath.Child("name"), ref.Name, pathvalidation.ValidatePathSegmentName(ref.Name, false))...)
	}
	for i, s := range subjects {
		errs = append(errs, validateSubject(s, namespaced, subjectsPath.Index(i))...)
	}
	return errs
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func validateSubject(s rbacv1.Subject, namespaced bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	}
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		if s.Name != "" {
			errs = append(errs, invalidEach(p.Child("name"), s.Name, apimachineryvalidation.ValidateServiceAccountName(s.Name, false))...)
		}
		if s.APIGroup != "" {
			errs = append(errs, field.NotSupported(p.Child("apiGroup"), s.APIGroup, []string{""}))
		}
		if !namespaced && s.Namespace == "" {
			errs = append(errs, field.Required(p.Child("namespace"), ""))
		}
	case rbacv1.UserKind, rbacv1.GroupKind:
		if s.APIGroup != rbacv1.GroupName {
			errs = append(errs, field.NotSupported(p.Child("apiGroup"), s.APIGroup, []string{rbacv1.GroupName}))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("kind"), s.Kind, []string{rbacv1.ServiceAccountKind, rbacv1.UserKind, rbacv1.GroupKind}))
	}
	return errs
}
