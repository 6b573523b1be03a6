package validation

import (
	"math"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var specPath = field.NewPath("spec")

func podRules() rules[*corev1.Pod] {
	return rules[*corev1.Pod]{
		namespaced: true,
		validate:   func(p *corev1.Pod) field.ErrorList { return validatePodSpec(&p.Spec, specPath) },
		create:     validatePodCreate,
		update:     validatePodUpdate,
		status:     validatePodStatusUpdate,
	}
}

func validatePodCreate(p *corev1.Pod) field.ErrorList {
	if len(p.Spec.EphemeralContainers) > 0 {
		return field.ErrorList{field.Forbidden(specPath.Child("ephemeralContainers"), "cannot be set on create")}
	}
	return nil
}

// validatePodTemplateSpec checks a pod template embedded in another object.
// extraVolumes names volumes the controller adds to each pod (a
// StatefulSet's claim templates), which mounts may refer to.
func validatePodTemplateSpec(t *corev1.PodTemplateSpec, path *field.Path, extraVolumes ...string) field.ErrorList {
	metaPath := path.Child("metadata")
	errs := metav1validation.ValidateLabels(t.Labels, metaPath.Child("labels"))
	errs = append(errs, apimachineryvalidation.ValidateAnnotations(t.Annotations, metaPath.Child("annotations"))...)
	errs = append(errs, validatePodSpec(&t.Spec, path.Child("spec"), extraVolumes...)...)
	if len(t.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(path.Child("spec", "ephemeralContainers"), "ephemeral containers not allowed in pod template"))
	}
	return errs
}

// validatePodSpec checks a pod spec found at path; see
// validatePodTemplateSpec for extraVolumes.
func validatePodSpec(s *corev1.PodSpec, path *field.Path, extraVolumes ...string) field.ErrorList {
	volumes, errs := validateVolumes(s.Volumes, path.Child("volumes"))
	volumes.Insert(extraVolumes...)
	errs = append(errs, validateContainers(s, volumes, path)...)
	errs = append(errs, supported(s.RestartPolicy, path.Child("restartPolicy"),
		corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever)...)
	errs = append(errs, validateDNS(s, path)...)
	errs = append(errs, metav1validation.ValidateLabels(s.NodeSelector, path.Child("nodeSelector"))...)
	errs = append(errs, validatePodIdentity(s, path)...)
	errs = append(errs, validateTolerations(s.Tolerations, path.Child("tolerations"))...)
	errs = append(errs, validateAffinity(s.Affinity, path.Child("affinity"))...)
	errs = append(errs, validateTopologySpread(s.TopologySpreadConstraints, path.Child("topologySpreadConstraints"))...)
	errs = append(errs, validatePodTiming(s, path)...)
	errs = append(errs, validatePodSecurityContext(s.SecurityContext, path.Child("securityContext"))...)
	return append(errs, validateHostAliases(s.HostAliases, path.Child("hostAliases"))...)
}

func validateHostAliases(aliases []corev1.HostAlias, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, a := range aliases {
		p := path.Index(i)
		if a.IP == "" {
			errs = append(errs, field.Required(p.Child("ip"), ""))
		} else {
			errs = append(errs, ipAddress(a.IP, p.Child("ip"))...)
		}
		for j, h := range a.Hostnames {
			errs = append(errs, dnsSubdomain(h, p.Child("hostnames").Index(j))...)
		}
	}
	return errs
}

func validateDNS(s *corev1.PodSpec, path *field.Path) field.ErrorList {
	errs := supported(s.DNSPolicy, path.Child("dnsPolicy"),
		corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone)
	if s.DNSPolicy == corev1.DNSNone && s.DNSConfig == nil {
		errs = append(errs, field.Required(path.Child("dnsConfig"), "must provide `dnsConfig` when `dnsPolicy` is None"))
	}
	if c := s.DNSConfig; c != nil {
		cfgPath := path.Child("dnsConfig")
		if s.DNSPolicy == corev1.DNSNone && len(c.Nameservers) == 0 {
			errs = append(errs, field.Required(cfgPath.Child("nameservers"), "must provide at least one DNS nameserver when `dnsPolicy` is None"))
		}
		if len(c.Nameservers) > 3 {
			errs = append(errs, field.Invalid(cfgPath.Child("nameservers"), c.Nameservers, "must not have more than 3 nameservers"))
		}
		for i, ns := range c.Nameservers {
			errs = append(errs, ipAddress(ns, cfgPath.Child("nameservers").Index(i))...)
		}
		for i, opt := range c.Options {
			errs = append(errs, requiredString(opt.Name, cfgPath.Child("options").Index(i))...)
		}
	}
	return errs
}

func validatePodIdentity(s *corev1.PodSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.Hostname != "" {
		errs = append(errs, dnsLabel(s.Hostname, path.Child("hostname"))...)
	}
	if s.Subdomain != "" {
		errs = append(errs, dnsLabel(s.Subdomain, path.Child("subdomain"))...)
	}
	if s.ServiceAccountName != "" {
		errs = append(errs, invalidEach(path.Child("serviceAccountName"), s.ServiceAccountName,
			apimachineryvalidation.ValidateServiceAccountName(s.ServiceAccountName, false))...)
	}
	if s.NodeName != "" {
		errs = append(errs, invalidEach(path.Child("nodeName"), s.NodeName,
			apimachineryvalidation.NameIsDNSSubdomain(s.NodeName, false))...)
	}
	if s.PriorityClassName != "" {
		errs = append(errs, dnsSubdomain(s.PriorityClassName, path.Child("priorityClassName"))...)
	}
	if s.SchedulerName != "" {
		errs = append(errs, invalidEach(path.Child("schedulerName"), s.SchedulerName,
			apimachineryvalidation.NameIsDNSSubdomain(s.SchedulerName, false))...)
	}
	if s.PreemptionPolicy != nil {
		errs = append(errs, supported(*s.PreemptionPolicy, path.Child("preemptionPolicy"),
			corev1.PreemptLowerPriority, corev1.PreemptNever)...)
	}
	return errs
}

func validatePodTiming(s *corev1.PodSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.ActiveDeadlineSeconds != nil {
		v := *s.ActiveDeadlineSeconds
		if v < 1 || v > math.MaxInt32 {
			errs = append(errs, field.Invalid(path.Child("activeDeadlineSeconds"), v, "must be between 1 and 2147483647, inclusive"))
		}
	}
	errs = append(errs, nonNegative64(s.TerminationGracePeriodSeconds, path.Child("terminationGracePeriodSeconds"))...)
	return errs
}

func validatePodSecurityContext(sc *corev1.PodSecurityContext, path *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	errs := nonNegative64(sc.RunAsUser, path.Child("runAsUser"))
	errs = append(errs, nonNegative64(sc.RunAsGroup, path.Child("runAsGroup"))...)
	errs = append(errs, nonNegative64(sc.FSGroup, path.Child("fsGroup"))...)
	for i, g := range sc.SupplementalGroups {
		errs = append(errs, nonNegative(g, path.Child("supplementalGroups").Index(i))...)
	}
	return errs
}

func validateTolerations(tolerations []corev1.Toleration, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, t := range tolerations {
		p := path.Index(i)
		if t.Key != "" {
			errs = append(errs, metav1validation.ValidateLabelName(t.Key, p.Child("key"))...)
		}
		if t.Key == "" && t.Operator != corev1.TolerationOpExists {
			errs = append(errs, field.Invalid(p.Child("operator"), t.Operator,
				"operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		if t.TolerationSeconds != nil && t.Effect != corev1.TaintEffectNoExecute {
			errs = append(errs, field.Invalid(p.Child("effect"), t.Effect,
				"effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
		errs = append(errs, validateTolerationOperator(t, p)...)
		if t.Effect != "" {
			errs = append(errs, supported(t.Effect, p.Child("effect"),
				corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute)...)
		}
	}
	return errs
}

func validateTolerationOperator(t corev1.Toleration, p *field.Path) field.ErrorList {
	switch t.Operator {
	case corev1.TolerationOpEqual, "":
		return invalidEach(p.Child("value"), t.Value, labelValueMessages(t.Value))
	case corev1.TolerationOpExists:
		if t.Value != "" {
			return field.ErrorList{field.Invalid(p.Child("operator"), t.Value, "value must be empty when `operator` is 'Exists'")}
		}
		return nil
	}
	return field.ErrorList{field.NotSupported(p.Child("operator"), t.Operator,
		[]corev1.TolerationOperator{corev1.TolerationOpEqual, corev1.TolerationOpExists})}
}

func validateTopologySpread(constraints []corev1.TopologySpreadConstraint, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, c := range constraints {
		p := path.Index(i)
		if c.MaxSkew <= 0 {
			errs = append(errs, field.Invalid(p.Child("maxSkew"), c.MaxSkew, isNotPositiveMsg))
		}
		if c.TopologyKey == "" {
			errs = append(errs, field.Required(p.Child("topologyKey"), "can not be empty"))
		} else {
			errs = append(errs, qualifiedName(c.TopologyKey, p.Child("topologyKey"))...)
		}
		errs = append(errs, supported(c.WhenUnsatisfiable, p.Child("whenUnsatisfiable"),
			corev1.DoNotSchedule, corev1.ScheduleAnyway)...)
		key := c.TopologyKey + "/" + string(c.WhenUnsatisfiable)
		if seen.Has(key) {
			errs = append(errs, field.Duplicate(p, key))
		}
		seen.Insert(key)
		errs = append(errs, labelSelector(c.LabelSelector, p.Child("labelSelector"))...)
	}
	return errs
}
