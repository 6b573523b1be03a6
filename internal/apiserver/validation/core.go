package validation

import (
	"encoding/json"
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// nonSpecialIP refuses endpoint addresses that cannot reach a pod: the
// unspecified address, loopback, link-local and multicast ranges.
func nonSpecialIP(addr string, path *field.Path) field.ErrorList {
	ip := net.ParseIP(addr)
	switch {
	case ip == nil:
		return nil
	case ip.IsUnspecified():
		return field.ErrorList{field.Invalid(path, addr, "may not be unspecified (0.0.0.0)")}
	case ip.IsLoopback():
		return field.ErrorList{field.Invalid(path, addr, "may not be in the loopback range (127.0.0.0/8, ::1/128)")}
	case ip.IsLinkLocalUnicast():
		return field.ErrorList{field.Invalid(path, addr, "may not be in the link-local range (169.254.0.0/16, fe80::/10)")}
	case ip.IsLinkLocalMulticast():
		return field.ErrorList{field.Invalid(path, addr, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")}
	}
	return nil
}

// maxSecretSize bounds the data of a Secret or ConfigMap (1 MiB).
const maxSecretSize = corev1.MaxSecretSize

const immutableWhenSetMsg = "field is immutable when `immutable` is set"

var (
	dataPath       = field.NewPath("data")
	binaryDataPath = field.NewPath("binaryData")
	immutablePath  = field.NewPath("immutable")
)

func namespaceRules() rules[*corev1.Namespace] {
	return rules[*corev1.Namespace]{
		name: apimachineryvalidation.ValidateNamespaceName,
		validate: func(ns *corev1.Namespace) field.ErrorList {
			var errs field.ErrorList
			for i, f := range ns.Spec.Finalizers {
				errs = append(errs, validateNamespaceFinalizer(string(f), specPath.Child("finalizers").Index(i))...)
			}
			return errs
		},
		status: validateNamespaceStatus,
	}
}

func validateNamespaceFinalizer(name string, path *field.Path) field.ErrorList {
	errs := qualifiedName(name, path)
	if len(errs) == 0 && name != string(corev1.FinalizerKubernetes) && !containsSlash(name) {
		errs = append(errs, field.Invalid(path, name, "name is neither a standard finalizer name nor is it fully qualified"))
	}
	return errs
}

func containsSlash(s string) bool {
	for _, c := range s {
		if c == '/' {
			return true
		}
	}
	return false
}

func validateNamespaceStatus(ns, _ *corev1.Namespace) field.ErrorList {
	p := field.NewPath("status", "Phase")
	if ns.DeletionTimestamp == nil && ns.Status.Phase != corev1.NamespaceActive {
		return field.ErrorList{field.Invalid(p, ns.Status.Phase, "may only be 'Active' if `deletionTimestamp` is empty")}
	}
	if ns.DeletionTimestamp != nil && ns.Status.Phase != corev1.NamespaceTerminating {
		return field.ErrorList{field.Invalid(p, ns.Status.Phase, "may only be in `Terminating` phase if `deletionTimestamp` is not empty")}
	}
	return nil
}

func nodeRules() rules[*corev1.Node] {
	return rules[*corev1.Node]{
		validate: validateNode,
		update:   validateNodeUpdate,
		status: func(n, _ *corev1.Node) field.ErrorList {
			errs := validateResourceList(n.Status.Capacity, statusPath.Child("capacity"))
			return append(errs, validateResourceList(n.Status.Allocatable, statusPath.Child("allocatable"))...)
		},
	}
}

func validateNode(n *corev1.Node) field.ErrorList {
	errs := validateTaints(n.Spec.Taints, specPath.Child("taints"))
	p := specPath.Child("podCIDRs")
	if len(n.Spec.PodCIDRs) > 2 {
		errs = append(errs, field.Invalid(p, n.Spec.PodCIDRs, "may specify no more than one CIDR for each IP family"))
	}
	seen := sets.New[string]()
	for i, cidr := range n.Spec.PodCIDRs {
		errs = append(errs, utilvalidation.IsValidCIDR(p.Index(i), cidr)...)
		if seen.Has(cidr) {
			errs = append(errs, field.Duplicate(p.Index(i), cidr))
		}
		seen.Insert(cidr)
	}
	if n.Spec.PodCIDR != "" && (len(n.Spec.PodCIDRs) == 0 || n.Spec.PodCIDRs[0] != n.Spec.PodCIDR) {
		errs = append(errs, field.Invalid(specPath.Child("podCIDR"), n.Spec.PodCIDR, "must match the first value of `podCIDRs`"))
	}
	return errs
}

func validateTaints(taints []corev1.Taint, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, t := range taints {
		p := path.Index(i)
		errs = append(errs, qualifiedName(t.Key, p.Child("key"))...)
		if t.Value != "" {
			errs = append(errs, invalidEach(p.Child("value"), t.Value, labelValueMessages(t.Value))...)
		}
		errs = append(errs, supported(t.Effect, p.Child("effect"),
			corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute)...)
		key := t.Key + ":" + string(t.Effect)
		if seen.Has(key) {
			errs = append(errs, field.Duplicate(p, "taints must be unique by key and effect pair"))
		}
		seen.Insert(key)
	}
	return errs
}

func validateNodeUpdate(n, old *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	if len(old.Spec.PodCIDRs) > 0 && !semanticEqual(n.Spec.PodCIDRs, old.Spec.PodCIDRs) {
		errs = append(errs, field.Forbidden(specPath.Child("podCIDRs"), "node updates may not change podCIDR except from \"\" to valid"))
	}
	if old.Spec.ProviderID != "" && n.Spec.ProviderID != old.Spec.ProviderID {
		errs = append(errs, field.Forbidden(specPath.Child("providerID"), "node updates may not change providerID except from \"\" to valid"))
	}
	return errs
}

func endpointsRules() rules[*corev1.Endpoints] {
	return rules[*corev1.Endpoints]{namespaced: true, validate: validateEndpoints}
}

func validateEndpoints(e *corev1.Endpoints) field.ErrorList {
	var errs field.ErrorList
	for i, ss := range e.Subsets {
		p := field.NewPath("subsets").Index(i)
		if len(ss.Addresses) == 0 && len(ss.NotReadyAddresses) == 0 {
			errs = append(errs, field.Required(p, "must specify `addresses` or `notReadyAddresses`"))
		}
		for j := range ss.Addresses {
			errs = append(errs, validateEndpointAddress(&ss.Addresses[j], p.Child("addresses").Index(j))...)
		}
		for j := range ss.NotReadyAddresses {
			errs = append(errs, validateEndpointAddress(&ss.NotReadyAddresses[j], p.Child("notReadyAddresses").Index(j))...)
		}
		for j, port := range ss.Ports {
			pp := p.Child("ports").Index(j)
			if port.Name == "" && len(ss.Ports) > 1 {
				errs = append(errs, field.Required(pp.Child("name"), ""))
			} else if port.Name != "" {
				errs = append(errs, dnsLabel(port.Name, pp.Child("name"))...)
			}
			errs = append(errs, portNumber(port.Port, pp.Child("port"))...)
			errs = append(errs, protocol(port.Protocol, pp.Child("protocol"))...)
		}
	}
	return errs
}

func validateEndpointAddress(a *corev1.EndpointAddress, path *field.Path) field.ErrorList {
	errs := ipAddress(a.IP, path.Child("ip"))
	if len(errs) == 0 {
		errs = nonSpecialIP(a.IP, path.Child("ip"))
	}
	if a.Hostname != "" {
		errs = append(errs, dnsLabel(a.Hostname, path.Child("hostname"))...)
	}
	if a.NodeName != nil {
		errs = append(errs, dnsSubdomain(*a.NodeName, path.Child("nodeName"))...)
	}
	return errs
}

func configMapRules() rules[*corev1.ConfigMap] {
	return rules[*corev1.ConfigMap]{
		namespaced: true,
		validate:   validateConfigMap,
		update: func(cm, old *corev1.ConfigMap) field.ErrorList {
			if !isTrue(old.Immutable) {
				return nil
			}
			errs := immutableFlag(cm.Immutable)
			if !semanticEqual(cm.Data, old.Data) {
				errs = append(errs, field.Forbidden(dataPath, immutableWhenSetMsg))
			}
			if !semanticEqual(cm.BinaryData, old.BinaryData) {
				errs = append(errs, field.Forbidden(binaryDataPath, immutableWhenSetMsg))
			}
			return errs
		},
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

func immutableFlag(b *bool) field.ErrorList {
	if !isTrue(b) {
		return field.ErrorList{field.Forbidden(immutablePath, immutableWhenSetMsg)}
	}
	return nil
}

func validateConfigMap(cm *corev1.ConfigMap) field.ErrorList {
	var errs field.ErrorList
	size := 0
	for _, k := range sortedKeys(cm.Data) {
		errs = append(errs, invalidEach(dataPath.Key(k), k, utilvalidation.IsConfigMapKey(k))...)
		if _, dup := cm.BinaryData[k]; dup {
			errs = append(errs, field.Invalid(dataPath.Key(k), k, "duplicate of key present in binaryData"))
		}
		size += len(cm.Data[k])
	}
	for _, k := range sortedKeys(cm.BinaryData) {
		errs = append(errs, invalidEach(binaryDataPath.Key(k), k, utilvalidation.IsConfigMapKey(k))...)
		size += len(cm.BinaryData[k])
	}
	if size > maxSecretSize {
		errs = append(errs, field.TooLong(field.NewPath(""), "", maxSecretSize))
	}
	return errs
}

func secretRules() rules[*corev1.Secret] {
	return rules[*corev1.Secret]{
		namespaced: true,
		validate:   validateSecret,
		update: func(s, old *corev1.Secret) field.ErrorList {
			errs := immutable(s.Type, old.Type, field.NewPath("type"))
			if isTrue(old.Immutable) {
				errs = append(errs, immutableFlag(s.Immutable)...)
				if !semanticEqual(s.Data, old.Data) {
					errs = append(errs, field.Forbidden(dataPath, immutableWhenSetMsg))
				}
			}
			return errs
		},
	}
}

func validateSecret(s *corev1.Secret) field.ErrorList {
	var errs field.ErrorList
	size := 0
	for _, k := range sortedKeys(s.Data) {
		errs = append(errs, invalidEach(dataPath.Key(k), k, utilvalidation.IsConfigMapKey(k))...)
		size += len(s.Data[k])
	}
	if size > maxSecretSize {
		errs = append(errs, field.TooLong(dataPath, "", maxSecretSize))
	}
	return append(errs, validateSecretType(s)...)
}

// validateSecretType checks the keys each well-known secret type requires.
func validateSecretType(s *corev1.Secret) field.ErrorList {
	var errs field.ErrorList
	has := func(k string) bool { _, ok := s.Data[k]; return ok }
	switch s.Type {
	case corev1.SecretTypeServiceAccountToken:
		if s.Annotations[corev1.ServiceAccountNameKey] == "" {
			errs = append(errs, field.Required(metadataPath.Child("annotations").Key(corev1.ServiceAccountNameKey), ""))
		}
	case corev1.SecretTypeDockercfg:
		errs = append(errs, validateJSONKey(s.Data, corev1.DockerConfigKey)...)
	case corev1.SecretTypeDockerConfigJson:
		errs = append(errs, validateJSONKey(s.Data, corev1.DockerConfigJsonKey)...)
	case corev1.SecretTypeBasicAuth:
		if !has(corev1.BasicAuthUsernameKey) && !has(corev1.BasicAuthPasswordKey) {
			errs = append(errs, field.Required(dataPath.Key(corev1.BasicAuthUsernameKey), ""),
				field.Required(dataPath.Key(corev1.BasicAuthPasswordKey), ""))
		}
	case corev1.SecretTypeSSHAuth:
		if len(s.Data[corev1.SSHAuthPrivateKey]) == 0 {
			errs = append(errs, field.Required(dataPath.Key(corev1.SSHAuthPrivateKey), ""))
		}
	case corev1.SecretTypeTLS:
		for _, k := range []string{corev1.TLSCertKey, corev1.TLSPrivateKeyKey} {
			if !has(k) {
				errs = append(errs, field.Required(dataPath.Key(k), ""))
			}
		}
	}
	return errs
}

func validateJSONKey(data map[string][]byte, key string) field.ErrorList {
	raw, ok := data[key]
	if !ok {
		return field.ErrorList{field.Required(dataPath.Key(key), "")}
	}
	if err := json.Unmarshal(raw, &map[string]any{}); err != nil {
		return field.ErrorList{field.Invalid(dataPath.Key(key), "<secret contents redacted>", err.Error())}
	}
	return nil
}

func serviceAccountRules() rules[*corev1.ServiceAccount] {
	return rules[*corev1.ServiceAccount]{
		name:       apimachineryvalidation.ValidateServiceAccountName,
		namespaced: true,
	}
}

func podTemplateRules() rules[*corev1.PodTemplate] {
	return rules[*corev1.PodTemplate]{
		namespaced: true,
		validate: func(t *corev1.PodTemplate) field.ErrorList {
			return validatePodTemplateSpec(&t.Template, field.NewPath("template"))
		},
	}
}

func resourceQuotaRules() rules[*corev1.ResourceQuota] {
	return rules[*corev1.ResourceQuota]{
		namespaced: true,
		validate: func(q *corev1.ResourceQuota) field.ErrorList {
			errs := validateQuotaList(q.Spec.Hard, specPath.Child("hard"))
			for i, sc := range q.Spec.Scopes {
				errs = append(errs, supported(sc, specPath.Child("scopes").Index(i), quotaScopes...)...)
			}
			return errs
		},
		status: func(q, _ *corev1.ResourceQuota) field.ErrorList {
			errs := validateQuotaList(q.Status.Hard, statusPath.Child("hard"))
			return append(errs, validateQuotaList(q.Status.Used, statusPath.Child("used"))...)
		},
	}
}

// standardQuotaResources are the quota names without a domain upstream
// knows; others need a domain (count/deployments.apps, example.com/gpu).
var standardQuotaResources = map[corev1.ResourceName]bool{
	corev1.ResourceCPU: true, corev1.ResourceMemory: true, corev1.ResourceEphemeralStorage: true,
	corev1.ResourceRequestsCPU: true, corev1.ResourceRequestsMemory: true, corev1.ResourceRequestsStorage: true,
	corev1.ResourceRequestsEphemeralStorage: true, corev1.ResourceLimitsCPU: true, corev1.ResourceLimitsMemory: true,
	corev1.ResourceLimitsEphemeralStorage: true, corev1.ResourcePods: true, corev1.ResourceQuotas: true,
	corev1.ResourceServices: true, corev1.ResourceReplicationControllers: true, corev1.ResourceSecrets: true,
	corev1.ResourcePersistentVolumeClaims: true, corev1.ResourceConfigMaps: true,
	corev1.ResourceServicesNodePorts: true, corev1.ResourceServicesLoadBalancers: true,
}

func validateQuotaList(list corev1.ResourceList, path *field.Path) field.ErrorList {
	errs := validateResourceList(list, path)
	for _, name := range sortedResourceNames(list) {
		n := string(name)
		huge := strings.HasPrefix(n, corev1.ResourceHugePagesPrefix) || strings.HasPrefix(n, corev1.ResourceRequestsHugePagesPrefix)
		if !strings.Contains(n, "/") && !huge && !standardQuotaResources[name] {
			errs = append(errs, field.Invalid(path.Key(n), n, "must be a standard resource for quota"))
		}
	}
	return errs
}

var quotaScopes = []corev1.ResourceQuotaScope{
	corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating,
	corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort,
	corev1.ResourceQuotaScopePriorityClass, corev1.ResourceQuotaScopeCrossNamespacePodAffinity,
	corev1.ResourceQuotaScopeVolumeAttributesClass,
}
