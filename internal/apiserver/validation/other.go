package validation

import (
	"fmt"
	"net"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Limits of an EndpointSlice.
const (
	maxSliceEndpoints = 1000
	maxSliceAddresses = 100
	maxSlicePorts     = 20000
)

// Priorities reserved for the system classes.
const (
	highestUserDefinablePriority = int32(1000000000)
	systemPriorityClassPrefix    = "system-"
)

var systemPriorityClasses = map[string]int32{
	"system-node-critical":    2000001000,
	"system-cluster-critical": 2000000000,
}

func leaseRules() rules[*coordinationv1.Lease] {
	return rules[*coordinationv1.Lease]{namespaced: true, validate: validateLease}
}

func validateLease(l *coordinationv1.Lease) field.ErrorList {
	s := &l.Spec
	var errs field.ErrorList
	if s.LeaseDurationSeconds != nil && *s.LeaseDurationSeconds <= 0 {
		errs = append(errs, field.Invalid(specPath.Child("leaseDurationSeconds"), *s.LeaseDurationSeconds, "must be greater than 0"))
	}
	if s.LeaseTransitions != nil && *s.LeaseTransitions < 0 {
		errs = append(errs, field.Invalid(specPath.Child("leaseTransitions"), *s.LeaseTransitions, "must be greater than or equal to 0"))
	}
	if s.Strategy != nil {
		errs = append(errs, supported(*s.Strategy, specPath.Child("strategy"), coordinationv1.OldestEmulationVersion)...)
	}
	if s.PreferredHolder != nil && *s.PreferredHolder != "" && (s.Strategy == nil || *s.Strategy == "") {
		errs = append(errs, field.Forbidden(specPath.Child("preferredHolder"), "may only be specified if `strategy` is defined"))
	}
	return errs
}

func endpointSliceRules() rules[*discoveryv1.EndpointSlice] {
	return rules[*discoveryv1.EndpointSlice]{
		namespaced: true,
		validate:   validateEndpointSlice,
		update: func(es, old *discoveryv1.EndpointSlice) field.ErrorList {
			return immutable(es.AddressType, old.AddressType, field.NewPath("addressType"))
		},
	}
}

func validateEndpointSlice(es *discoveryv1.EndpointSlice) field.ErrorList {
	errs := supported(es.AddressType, field.NewPath("addressType"),
		discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6, discoveryv1.AddressTypeFQDN)
	ep := field.NewPath("endpoints")
	if len(es.Endpoints) > maxSliceEndpoints {
		errs = append(errs, field.TooMany(ep, len(es.Endpoints), maxSliceEndpoints))
	}
	for i := range es.Endpoints {
		errs = append(errs, validateSliceEndpoint(&es.Endpoints[i], es.AddressType, ep.Index(i))...)
	}
	return append(errs, validateSlicePorts(es.Ports, field.NewPath("ports"))...)
}

func validateSliceEndpoint(e *discoveryv1.Endpoint, addrType discoveryv1.AddressType, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	ap := p.Child("addresses")
	if len(e.Addresses) == 0 {
		errs = append(errs, field.Required(ap, "must contain at least 1 address"))
	} else if len(e.Addresses) > maxSliceAddresses {
		errs = append(errs, field.TooMany(ap, len(e.Addresses), maxSliceAddresses))
	}
	for i, a := range e.Addresses {
		switch addrType {
		case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6:
			errs = append(errs, validateSliceIP(a, addrType, ap.Index(i))...)
		case discoveryv1.AddressTypeFQDN:
			errs = append(errs, utilvalidation.IsFullyQualifiedDomainName(ap.Index(i), a)...)
		}
	}
	if e.NodeName != nil {
		errs = append(errs, dnsSubdomain(*e.NodeName, p.Child("nodeName"))...)
	}
	errs = append(errs, metav1validation.ValidateLabels(e.DeprecatedTopology, p.Child("deprecatedTopology"))...)
	if e.Hostname != nil {
		errs = append(errs, dnsLabel(*e.Hostname, p.Child("hostname"))...)
	}
	return errs
}

func validateSliceIP(addr string, addrType discoveryv1.AddressType, p *field.Path) field.ErrorList {
	if errs := ipAddress(addr, p); len(errs) > 0 {
		return errs
	}
	isV4 := net.ParseIP(addr).To4() != nil
	if isV4 != (addrType == discoveryv1.AddressTypeIPv4) {
		kind := "IPv4"
		if addrType == discoveryv1.AddressTypeIPv6 {
			kind = "IPv6"
		}
		return field.ErrorList{field.Invalid(p, addr, "must be a valid "+kind+" address")}
	}
	return nonSpecialIP(addr, p)
}

func validateSlicePorts(ports []discoveryv1.EndpointPort, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(ports) > maxSlicePorts {
		errs = append(errs, field.TooMany(path, len(ports), maxSlicePorts))
	}
	names := sets.New[string]()
	for i, port := range ports {
		p := path.Index(i)
		name := ""
		if port.Name != nil {
			name = *port.Name
		}
		if name != "" {
			errs = append(errs, dnsLabel(name, p.Child("name"))...)
		}
		if names.Has(name) {
			errs = append(errs, field.Duplicate(p.Child("name"), name))
		}
		names.Insert(name)
		if port.Protocol == nil {
			errs = append(errs, field.Required(p.Child("protocol"), ""))
		} else {
			errs = append(errs, protocol(*port.Protocol, p.Child("protocol"))...)
		}
		if port.Port != nil {
			errs = append(errs, portNumber(*port.Port, p.Child("port"))...)
		}
		if port.AppProtocol != nil {
			errs = append(errs, qualifiedName(*port.AppProtocol, p.Child("appProtocol"))...)
		}
	}
	return errs
}

func podDisruptionBudgetRules() rules[*policyv1.PodDisruptionBudget] {
	return rules[*policyv1.PodDisruptionBudget]{
		namespaced: true,
		validate:   validatePodDisruptionBudget,
		status: func(pdb, _ *policyv1.PodDisruptionBudget) field.ErrorList {
			s := pdb.Status
			errs := nonNegative(int64(s.DisruptionsAllowed), statusPath.Child("disruptionsAllowed"))
			errs = append(errs, nonNegative(int64(s.CurrentHealthy), statusPath.Child("currentHealthy"))...)
			errs = append(errs, nonNegative(int64(s.DesiredHealthy), statusPath.Child("desiredHealthy"))...)
			errs = append(errs, nonNegative(int64(s.ExpectedPods), statusPath.Child("expectedPods"))...)
			return append(errs, metav1validation.ValidateConditions(s.Conditions, statusPath.Child("conditions"))...)
		},
	}
}

func validatePodDisruptionBudget(pdb *policyv1.PodDisruptionBudget) field.ErrorList {
	s := &pdb.Spec
	var errs field.ErrorList
	if s.MinAvailable != nil && s.MaxUnavailable != nil {
		errs = append(errs, field.Invalid(specPath, s, "minAvailable and maxUnavailable cannot be both set"))
	}
	errs = append(errs, intOrPercent(s.MinAvailable, specPath.Child("minAvailable"))...)
	errs = append(errs, notMoreThan100Percent(s.MinAvailable, specPath.Child("minAvailable"))...)
	errs = append(errs, intOrPercent(s.MaxUnavailable, specPath.Child("maxUnavailable"))...)
	errs = append(errs, notMoreThan100Percent(s.MaxUnavailable, specPath.Child("maxUnavailable"))...)
	errs = append(errs, labelSelector(s.Selector, specPath.Child("selector"))...)
	if s.UnhealthyPodEvictionPolicy != nil {
		errs = append(errs, supported(*s.UnhealthyPodEvictionPolicy, specPath.Child("unhealthyPodEvictionPolicy"),
			policyv1.AlwaysAllow, policyv1.IfHealthyBudget)...)
	}
	return errs
}

func priorityClassRules() rules[*schedulingv1.PriorityClass] {
	return rules[*schedulingv1.PriorityClass]{
		validate: validatePriorityClass,
		update: func(pc, old *schedulingv1.PriorityClass) field.ErrorList {
			var errs field.ErrorList
			if pc.Value != old.Value {
				errs = append(errs, field.Forbidden(field.NewPath("value"), "may not be changed in an update."))
			}
			return append(errs, immutable(pc.PreemptionPolicy, old.PreemptionPolicy, field.NewPath("preemptionPolicy"))...)
		},
	}
}

func validatePriorityClass(pc *schedulingv1.PriorityClass) field.ErrorList {
	var errs field.ErrorList
	if strings.HasPrefix(pc.Name, systemPriorityClassPrefix) {
		if err := checkSystemPriorityClass(pc); err != "" {
			errs = append(errs, field.Forbidden(metadataPath.Child("name"),
				"priority class names with '"+systemPriorityClassPrefix+"' prefix are reserved for system use only. error: "+err))
		}
	} else if pc.Value > highestUserDefinablePriority {
		errs = append(errs, field.Forbidden(field.NewPath("value"),
			fmt.Sprintf("maximum allowed value of a user defined priority is %v", highestUserDefinablePriority)))
	}
	if pc.PreemptionPolicy != nil {
		errs = append(errs, supported(*pc.PreemptionPolicy, field.NewPath("preemptionPolicy"),
			"PreemptLowerPriority", "Never")...)
	}
	return errs
}

// checkSystemPriorityClass explains why pc is not one of the system classes,
// or returns "" when it is.
func checkSystemPriorityClass(pc *schedulingv1.PriorityClass) string {
	value, ok := systemPriorityClasses[pc.Name]
	switch {
	case !ok:
		return fmt.Sprintf("%v is not a known system priority class", pc.Name)
	case value != pc.Value:
		return fmt.Sprintf("value of %v PriorityClass must be %v", pc.Name, value)
	case pc.GlobalDefault:
		return fmt.Sprintf("globalDefault of %v PriorityClass must be false", pc.Name)
	}
	return ""
}
