package defaults

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const (
	defaultTerminationGracePeriod = int64(30)
	defaultVolumeMode             = int32(0o644)
	defaultTokenExpiration        = int64(3600)
)

// setPod defaults a Pod: its spec, plus the pod-only defaults (requests taken
// from limits, preemption policy, service links).
func setPod(p *corev1.Pod) {
	setPodSpec(&p.Spec)
	for i := range p.Spec.Containers {
		setRequestsFromLimits(&p.Spec.Containers[i].Resources)
	}
	for i := range p.Spec.InitContainers {
		setRequestsFromLimits(&p.Spec.InitContainers[i].Resources)
	}
	// Since Kubernetes 1.28 only pods, not templates, get host ports
	// defaulted for host networking.
	if p.Spec.HostNetwork {
		setHostNetworkPorts(p.Spec.Containers)
		setHostNetworkPorts(p.Spec.InitContainers)
	}
	if p.Spec.EnableServiceLinks == nil {
		p.Spec.EnableServiceLinks = ptr(corev1.DefaultEnableServiceLinks)
	}
	// Upstream's create strategy treats a negative grace period as 1.
	if g := p.Spec.TerminationGracePeriodSeconds; *g < 0 {
		p.Spec.TerminationGracePeriodSeconds = ptr(int64(1))
	}
	if p.Spec.PreemptionPolicy == nil && p.Spec.PriorityClassName == "" {
		p.Spec.PreemptionPolicy = ptr(corev1.PreemptLowerPriority)
	}
}

// setPodTemplateSpec defaults the pod spec embedded in a workload template.
func setPodTemplateSpec(t *corev1.PodTemplateSpec) {
	setPodSpec(&t.Spec)
}

// setRequestsFromLimits copies each limit into requests when that resource
// has no request, as upstream does for pods.
func setRequestsFromLimits(r *corev1.ResourceRequirements) {
	if len(r.Limits) == 0 {
		return
	}
	if r.Requests == nil {
		r.Requests = corev1.ResourceList{}
	}
	for name, q := range r.Limits {
		if _, ok := r.Requests[name]; !ok {
			r.Requests[name] = q.DeepCopy()
		}
	}
}

func setPodSpec(s *corev1.PodSpec) {
	if s.DNSPolicy == "" {
		s.DNSPolicy = corev1.DNSClusterFirst
	}
	if s.RestartPolicy == "" {
		s.RestartPolicy = corev1.RestartPolicyAlways
	}
	if s.SecurityContext == nil {
		s.SecurityContext = &corev1.PodSecurityContext{}
	}
	if s.TerminationGracePeriodSeconds == nil {
		s.TerminationGracePeriodSeconds = ptr(defaultTerminationGracePeriod)
	}
	if s.SchedulerName == "" {
		s.SchedulerName = corev1.DefaultSchedulerName
	}
	for i := range s.Volumes {
		setVolume(&s.Volumes[i])
	}
	for i := range s.InitContainers {
		setContainer(&s.InitContainers[i])
	}
	for i := range s.Containers {
		setContainer(&s.Containers[i])
	}
	for i := range s.EphemeralContainers {
		c := corev1.Container(s.EphemeralContainers[i].EphemeralContainerCommon)
		setContainer(&c)
		s.EphemeralContainers[i].EphemeralContainerCommon = corev1.EphemeralContainerCommon(c)
	}
}

func setContainer(c *corev1.Container) {
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = pullPolicyFor(c.Image)
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = corev1.TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = corev1.ProtocolTCP
		}
	}
	for i := range c.Env {
		setEnvVarSource(c.Env[i].ValueFrom)
	}
	setProbe(c.LivenessProbe)
	setProbe(c.ReadinessProbe)
	setProbe(c.StartupProbe)
	if c.Lifecycle != nil {
		setLifecycleHandler(c.Lifecycle.PostStart)
		setLifecycleHandler(c.Lifecycle.PreStop)
	}
}

// setHostNetworkPorts makes each unset host port equal its container port.
func setHostNetworkPorts(containers []corev1.Container) {
	for i := range containers {
		for j := range containers[i].Ports {
			if p := &containers[i].Ports[j]; p.HostPort == 0 {
				p.HostPort = p.ContainerPort
			}
		}
	}
}

// pullPolicyFor is Always for the "latest" tag or no tag at all (and no
// digest), IfNotPresent otherwise.
func pullPolicyFor(image string) corev1.PullPolicy {
	if strings.Contains(image, "@") {
		return corev1.PullIfNotPresent
	}
	name := image
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	i := strings.LastIndex(name, ":")
	if i < 0 || name[i+1:] == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

func setEnvVarSource(s *corev1.EnvVarSource) {
	if s != nil && s.FieldRef != nil && s.FieldRef.APIVersion == "" {
		s.FieldRef.APIVersion = "v1"
	}
}

func setProbe(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	setHTTPGet(p.HTTPGet)
	if p.GRPC != nil && p.GRPC.Service == nil {
		p.GRPC.Service = ptr("")
	}
}

func setLifecycleHandler(h *corev1.LifecycleHandler) {
	if h != nil {
		setHTTPGet(h.HTTPGet)
	}
}

func setHTTPGet(h *corev1.HTTPGetAction) {
	if h == nil {
		return
	}
	if h.Path == "" {
		h.Path = "/"
	}
	if h.Scheme == "" {
		h.Scheme = corev1.URISchemeHTTP
	}
}

// zeroPort reports whether an IntOrString port was left unset.
func zeroPort(p intstr.IntOrString) bool {
	return p == intstr.FromInt32(0) || p == intstr.FromString("")
}
