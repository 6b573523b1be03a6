package validation

import (
	"fmt"
	"net"
	"strings"

	"github.com/klite/klite/internal/apiserver/defaults"
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const maxClientIPTimeout = 86400

var clusterIPsPath = specPath.Child("clusterIPs")

func serviceRules() rules[*corev1.Service] {
	return rules[*corev1.Service]{
		name:       apimachineryvalidation.NameIsDNS1035Label,
		namespaced: true,
		validate:   validateService,
		update:     validateServiceUpdate,
		status: func(s, _ *corev1.Service) field.ErrorList {
			return validateLoadBalancerStatus(&s.Status.LoadBalancer, statusPath.Child("loadBalancer"))
		},
	}
}

// serviceAfterUpdateStrategy returns the service as upstream validates it
// on update: after allocated values are carried over and fields the new type
// does not use are dropped (defaults.ApplyUpdate). svc itself is not changed;
// the caller should store the result of defaults.ApplyUpdate too.
func serviceAfterUpdateStrategy(svc *corev1.Service, old runtime.Object) *corev1.Service {
	c := svc.DeepCopy()
	defaults.ApplyUpdate(c, old)
	return c
}

func isHeadless(s *corev1.Service) bool {
	return len(s.Spec.ClusterIPs) > 0 && s.Spec.ClusterIPs[0] == corev1.ClusterIPNone ||
		s.Spec.ClusterIP == corev1.ClusterIPNone
}

func validateService(svc *corev1.Service) field.ErrorList {
	s := &svc.Spec
	var errs field.ErrorList
	if len(s.Ports) == 0 && !isHeadless(svc) && s.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, field.Required(specPath.Child("ports"), ""))
	}
	errs = append(errs, validateServiceType(svc)...)
	errs = append(errs, validateServicePorts(svc)...)
	if s.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabels(s.Selector, specPath.Child("selector"))...)
	}
	errs = append(errs, validateSessionAffinity(s)...)
	errs = append(errs, validateClusterIPs(svc)...)
	for i, ip := range s.ExternalIPs {
		errs = append(errs, ipAddress(ip, specPath.Child("externalIPs").Index(i))...)
	}
	errs = append(errs, validateLoadBalancerFields(s)...)
	errs = append(errs, validateTrafficPolicies(s)...)
	return errs
}

func validateServiceType(svc *corev1.Service) field.ErrorList {
	s := &svc.Spec
	errs := supported(s.Type, specPath.Child("type"), corev1.ServiceTypeClusterIP,
		corev1.ServiceTypeExternalName, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort)
	switch s.Type {
	case corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort:
		if isHeadless(svc) {
			errs = append(errs, field.Invalid(clusterIPsPath.Index(0), corev1.ClusterIPNone,
				fmt.Sprintf("may not be set to 'None' for %s services", s.Type)))
		}
	case corev1.ServiceTypeExternalName:
		errs = append(errs, validateExternalName(s)...)
	case corev1.ServiceTypeClusterIP:
		for i, p := range s.Ports {
			if p.NodePort != 0 {
				errs = append(errs, field.Forbidden(specPath.Child("ports").Index(i).Child("nodePort"), "may not be used when `type` is 'ClusterIP'"))
			}
		}
	}
	return errs
}

func validateExternalName(s *corev1.ServiceSpec) field.ErrorList {
	var errs field.ErrorList
	if s.ClusterIP != "" || len(s.ClusterIPs) > 0 {
		errs = append(errs, field.Forbidden(clusterIPsPath, "may not be set for ExternalName services"))
	}
	if len(s.IPFamilies) > 0 {
		errs = append(errs, field.Forbidden(specPath.Child("ipFamilies"), "may not be set for ExternalName services"))
	}
	if s.IPFamilyPolicy != nil {
		errs = append(errs, field.Forbidden(specPath.Child("ipFamilyPolicy"), "may not be set for ExternalName services"))
	}
	cname := strings.TrimSuffix(s.ExternalName, ".")
	if cname == "" {
		return append(errs, field.Required(specPath.Child("externalName"), ""))
	}
	return append(errs, dnsSubdomain(cname, specPath.Child("externalName"))...)
}

func validateServicePorts(svc *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	seen := map[corev1.ServicePort]bool{}
	nodePorts := map[corev1.ServicePort]bool{}
	for i, sp := range svc.Spec.Ports {
		p := specPath.Child("ports").Index(i)
		if sp.Name == "" && len(svc.Spec.Ports) > 1 {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else if sp.Name != "" {
			errs = append(errs, dnsLabel(sp.Name, p.Child("name"))...)
			if names.Has(sp.Name) {
				errs = append(errs, field.Duplicate(p.Child("name"), sp.Name))
			}
			names.Insert(sp.Name)
		}
		errs = append(errs, portNumber(sp.Port, p.Child("port"))...)
		errs = append(errs, protocol(sp.Protocol, p.Child("protocol"))...)
		errs = append(errs, portNumOrName(sp.TargetPort, p.Child("targetPort"))...)
		if sp.AppProtocol != nil {
			errs = append(errs, qualifiedName(*sp.AppProtocol, p.Child("appProtocol"))...)
		}
		if sp.NodePort != 0 {
			errs = append(errs, portNumber(sp.NodePort, p.Child("nodePort"))...)
			key := corev1.ServicePort{Protocol: sp.Protocol, NodePort: sp.NodePort}
			if nodePorts[key] {
				errs = append(errs, field.Duplicate(p.Child("nodePort"), sp.NodePort))
			}
			nodePorts[key] = true
		}
		key := corev1.ServicePort{Protocol: sp.Protocol, Port: sp.Port}
		if seen[key] {
			errs = append(errs, field.Duplicate(p, key))
		}
		seen[key] = true
	}
	return errs
}

func validateSessionAffinity(s *corev1.ServiceSpec) field.ErrorList {
	path := specPath.Child("sessionAffinityConfig")
	errs := supported(s.SessionAffinity, specPath.Child("sessionAffinity"), corev1.ServiceAffinityClientIP, corev1.ServiceAffinityNone)
	switch s.SessionAffinity {
	case corev1.ServiceAffinityNone:
		if s.SessionAffinityConfig != nil {
			errs = append(errs, field.Forbidden(path, "must not be set when session affinity is None"))
		}
	case corev1.ServiceAffinityClientIP:
		when := fmt.Sprintf("when session affinity type is %s", corev1.ServiceAffinityClientIP)
		switch c := s.SessionAffinityConfig; {
		case c == nil:
			errs = append(errs, field.Required(path, when))
		case c.ClientIP == nil:
			errs = append(errs, field.Required(path.Child("clientIP"), when))
		case c.ClientIP.TimeoutSeconds == nil:
			errs = append(errs, field.Required(path.Child("clientIP", "timeoutSeconds"), when))
		case *c.ClientIP.TimeoutSeconds <= 0 || *c.ClientIP.TimeoutSeconds > maxClientIPTimeout:
			errs = append(errs, field.Invalid(path.Child("clientIP", "timeoutSeconds"), *c.ClientIP.TimeoutSeconds,
				fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPTimeout)))
		}
	}
	return errs
}

// validateClusterIPs checks clusterIP/clusterIPs and the IP family fields of
// a service that has them (not ExternalName).
func validateClusterIPs(svc *corev1.Service) field.ErrorList {
	s := &svc.Spec
	if s.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	var errs field.ErrorList
	if len(s.ClusterIPs) > 0 && s.ClusterIP != s.ClusterIPs[0] {
		errs = append(errs, field.Invalid(clusterIPsPath, s.ClusterIPs, "first value must match `clusterIP`"))
	}
	if len(s.ClusterIPs) > 2 {
		errs = append(errs, field.Invalid(clusterIPsPath, s.ClusterIPs, "may only hold up to 2 values"))
	}
	for i, ip := range s.ClusterIPs {
		p := clusterIPsPath.Index(i)
		if ip == corev1.ClusterIPNone {
			if i != 0 || len(s.ClusterIPs) > 1 {
				errs = append(errs, field.Invalid(p, ip, "'None' must be the first and only value"))
			}
			continue
		}
		errs = append(errs, ipAddress(ip, p)...)
	}
	if len(s.ClusterIPs) == 0 && s.ClusterIP != "" && s.ClusterIP != corev1.ClusterIPNone {
		errs = append(errs, ipAddress(s.ClusterIP, specPath.Child("clusterIP"))...)
	}
	errs = append(errs, validateIPFamilies(s)...)
	return errs
}

func validateIPFamilies(s *corev1.ServiceSpec) field.ErrorList {
	var errs field.ErrorList
	if s.IPFamilyPolicy != nil {
		errs = append(errs, supported(*s.IPFamilyPolicy, specPath.Child("ipFamilyPolicy"), corev1.IPFamilyPolicySingleStack,
			corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack)...)
		if *s.IPFamilyPolicy == corev1.IPFamilyPolicySingleStack && len(s.IPFamilies) > 1 {
			errs = append(errs, field.Invalid(specPath.Child("ipFamilies"), s.IPFamilies, "must contain only one value when `ipFamilyPolicy` is 'SingleStack'"))
		}
	}
	path := specPath.Child("ipFamilies")
	if len(s.IPFamilies) > 2 {
		errs = append(errs, field.Invalid(path, s.IPFamilies, "may be either a single or a dual-stack value"))
	}
	seen := sets.New[corev1.IPFamily]()
	for i, f := range s.IPFamilies {
		errs = append(errs, supported(f, path.Index(i), corev1.IPv4Protocol, corev1.IPv6Protocol)...)
		if seen.Has(f) {
			errs = append(errs, field.Duplicate(path.Index(i), f))
		}
		seen.Insert(f)
	}
	for i, ip := range s.ClusterIPs {
		parsed := net.ParseIP(ip)
		if parsed == nil || i >= len(s.IPFamilies) {
			continue
		}
		if isV6 := parsed.To4() == nil; isV6 != (s.IPFamilies[i] == corev1.IPv6Protocol) {
			errs = append(errs, field.Invalid(clusterIPsPath.Index(i), ip, fmt.Sprintf("expected an %s value as indicated by `ipFamilies[%d]`", s.IPFamilies[i], i)))
		}
	}
	return errs
}

func validateLoadBalancerFields(s *corev1.ServiceSpec) field.ErrorList {
	var errs field.ErrorList
	lb := s.Type == corev1.ServiceTypeLoadBalancer
	if len(s.LoadBalancerSourceRanges) > 0 {
		p := specPath.Child("LoadBalancerSourceRanges")
		if !lb {
			errs = append(errs, field.Forbidden(p, "may only be used when `type` is 'LoadBalancer'"))
		}
		for i, v := range s.LoadBalancerSourceRanges {
			errs = append(errs, utilvalidation.IsValidCIDR(p.Index(i), strings.TrimSpace(v))...)
		}
	}
	if s.AllocateLoadBalancerNodePorts != nil && !lb {
		errs = append(errs, field.Forbidden(specPath.Child("allocateLoadBalancerNodePorts"), "may only be used when `type` is 'LoadBalancer'"))
	}
	if lb && s.AllocateLoadBalancerNodePorts == nil {
		errs = append(errs, field.Required(field.NewPath("allocateLoadBalancerNodePorts"), ""))
	}
	if s.LoadBalancerClass != nil {
		if !lb {
			errs = append(errs, field.Forbidden(specPath.Child("loadBalancerClass"), "may only be used when `type` is 'LoadBalancer'"))
		}
		errs = append(errs, qualifiedName(*s.LoadBalancerClass, specPath.Child("loadBalancerClass"))...)
	}
	return errs
}

func validateTrafficPolicies(s *corev1.ServiceSpec) field.ErrorList {
	var errs field.ErrorList
	etp := specPath.Child("externalTrafficPolicy")
	external := s.Type == corev1.ServiceTypeNodePort || s.Type == corev1.ServiceTypeLoadBalancer
	switch {
	case external:
		errs = append(errs, supported(s.ExternalTrafficPolicy, etp,
			corev1.ServiceExternalTrafficPolicyCluster, corev1.ServiceExternalTrafficPolicyLocal)...)
	case s.ExternalTrafficPolicy != "" && (s.Type != corev1.ServiceTypeClusterIP || len(s.ExternalIPs) == 0):
		errs = append(errs, field.Invalid(etp, s.ExternalTrafficPolicy, "may only be set for externally-accessible services"))
	}
	if s.HealthCheckNodePort != 0 && (s.Type != corev1.ServiceTypeLoadBalancer || s.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal) {
		errs = append(errs, field.Invalid(specPath.Child("healthCheckNodePort"), s.HealthCheckNodePort,
			"may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
	}
	itp := specPath.Child("internalTrafficPolicy")
	if s.Type != corev1.ServiceTypeExternalName {
		if s.InternalTrafficPolicy == nil {
			errs = append(errs, field.Required(itp, ""))
		} else {
			errs = append(errs, supported(*s.InternalTrafficPolicy, itp,
				corev1.ServiceInternalTrafficPolicyCluster, corev1.ServiceInternalTrafficPolicyLocal)...)
		}
	}
	return errs
}

// validateServiceUpdate keeps allocated cluster IPs and the primary IP family
// unless the service changes to or from ExternalName.
func validateServiceUpdate(svc, old *corev1.Service) field.ErrorList {
	if svc.Spec.Type == corev1.ServiceTypeExternalName || old.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	if isHeadless(svc) && isHeadless(old) {
		return nil
	}
	newIPs, oldIPs := svc.Spec.ClusterIPs, old.Spec.ClusterIPs
	var errs field.ErrorList
	changed := field.Invalid(clusterIPsPath.Index(0), newIPs, "may not change once set")
	switch {
	case len(oldIPs) == len(newIPs):
		for i, ip := range oldIPs {
			if ip != newIPs[i] {
				errs = append(errs, field.Invalid(clusterIPsPath.Index(i), newIPs, "may not change once set"))
			}
		}
	case len(oldIPs) > len(newIPs):
		if len(newIPs) == 0 {
			errs = append(errs, field.Invalid(clusterIPsPath.Index(0), newIPs, "primary clusterIP can not be unset"))
		} else if newIPs[0] != oldIPs[0] {
			errs = append(errs, changed)
		}
		if len(newIPs) == 1 && !ptrEqual(svc.Spec.IPFamilyPolicy, corev1.IPFamilyPolicySingleStack) {
			errs = append(errs, field.Invalid(clusterIPsPath.Index(0), newIPs, "`ipFamilyPolicy` must be set to 'SingleStack' when releasing the secondary clusterIP"))
		}
	case len(oldIPs) > 0 && newIPs[0] != oldIPs[0]:
		errs = append(errs, changed)
	}
	oldFam, newFam := old.Spec.IPFamilies, svc.Spec.IPFamilies
	if len(oldFam) > 0 && len(newFam) > 0 && oldFam[0] != newFam[0] {
		errs = append(errs, field.Invalid(specPath.Child("ipFamilies").Index(0), newFam[0], "may not change once set"))
	}
	return errs
}

func validateLoadBalancerStatus(s *corev1.LoadBalancerStatus, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ing := range s.Ingress {
		p := path.Child("ingress").Index(i)
		if ing.IP != "" {
			errs = append(errs, ipAddress(ing.IP, p.Child("ip"))...)
		}
		switch {
		case ing.IPMode != nil && ing.IP == "":
			errs = append(errs, field.Forbidden(p.Child("ipMode"), "may not be specified when `ip` is not set"))
		case ing.IPMode != nil:
			errs = append(errs, supported(*ing.IPMode, p.Child("ipMode"), corev1.LoadBalancerIPModeVIP, corev1.LoadBalancerIPModeProxy)...)
		case ing.IP != "":
			errs = append(errs, field.Required(p.Child("ipMode"), "must be specified when `ip` is set"))
		}
		if ing.Hostname != "" {
			errs = append(errs, dnsSubdomain(ing.Hostname, p.Child("hostname"))...)
			if net.ParseIP(ing.Hostname) != nil {
				errs = append(errs, field.Invalid(p.Child("hostname"), ing.Hostname, "must be a DNS name, not an IP address"))
			}
		}
	}
	return errs
}
