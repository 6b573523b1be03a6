package validation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const notSidecarMsg = "may not be set for init containers without restartPolicy=Always"

// containerChecks carries what the containers of one pod share: the pod's
// volumes, the names and host ports already taken.
type containerChecks struct {
	hostNetwork bool
	volumes     sets.Set[string]
	names       sets.Set[string]
	hostPorts   sets.Set[string]
}

func validateContainers(s *corev1.PodSpec, volumes sets.Set[string], path *field.Path) field.ErrorList {
	cc := &containerChecks{hostNetwork: s.HostNetwork, volumes: volumes, names: sets.New[string](), hostPorts: sets.New[string]()}
	var errs field.ErrorList
	if len(s.Containers) == 0 {
		errs = append(errs, field.Required(path.Child("containers"), ""))
	}
	for i := range s.Containers {
		c := &s.Containers[i]
		p := path.Child("containers").Index(i)
		errs = append(errs, cc.validateContainer(c, p)...)
		if c.RestartPolicy != nil {
			errs = append(errs, field.Forbidden(p.Child("restartPolicy"), "may not be set for non-init containers"))
		}
		errs = append(errs, probeSuccessThresholdOne(c, p)...)
	}
	// Like upstream, a name clash between an init and a regular container is
	// reported on the init container.
	for i := range s.InitContainers {
		c := &s.InitContainers[i]
		p := path.Child("initContainers").Index(i)
		errs = append(errs, cc.validateContainer(c, p)...)
		errs = append(errs, validateInitContainerRules(c, p)...)
	}
	for i := range s.EphemeralContainers {
		c := corev1.Container(s.EphemeralContainers[i].EphemeralContainerCommon)
		errs = append(errs, cc.validateName(c.Name, path.Child("ephemeralContainers").Index(i).Child("name"))...)
	}
	return errs
}

// probeSuccessThresholdOne checks that liveness and startup probes of a
// container (or sidecar) succeed after one success.
func probeSuccessThresholdOne(c *corev1.Container, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.LivenessProbe != nil && c.LivenessProbe.SuccessThreshold != 1 {
		errs = append(errs, field.Invalid(p.Child("livenessProbe", "successThreshold"), c.LivenessProbe.SuccessThreshold, "must be 1"))
	}
	if c.StartupProbe != nil && c.StartupProbe.SuccessThreshold != 1 {
		errs = append(errs, field.Invalid(p.Child("startupProbe", "successThreshold"), c.StartupProbe.SuccessThreshold, "must be 1"))
	}
	return errs
}

// validateInitContainerRules checks what differs between init containers and
// sidecars (init containers with restartPolicy Always).
func validateInitContainerRules(c *corev1.Container, p *field.Path) field.ErrorList {
	if c.RestartPolicy != nil {
		if *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
			return field.ErrorList{field.NotSupported(p.Child("restartPolicy"), *c.RestartPolicy,
				[]corev1.ContainerRestartPolicy{corev1.ContainerRestartPolicyAlways})}
		}
		return probeSuccessThresholdOne(c, p)
	}
	var errs field.ErrorList
	if c.Lifecycle != nil {
		errs = append(errs, field.Forbidden(p.Child("lifecycle"), notSidecarMsg))
	}
	if c.LivenessProbe != nil {
		errs = append(errs, field.Forbidden(p.Child("livenessProbe"), notSidecarMsg))
	}
	if c.ReadinessProbe != nil {
		errs = append(errs, field.Forbidden(p.Child("readinessProbe"), notSidecarMsg))
	}
	if c.StartupProbe != nil {
		errs = append(errs, field.Forbidden(p.Child("startupProbe"), notSidecarMsg))
	}
	return errs
}

func (cc *containerChecks) validateName(name string, path *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	errs := dnsLabel(name, path)
	if cc.names.Has(name) {
		errs = append(errs, field.Duplicate(path, name))
	}
	cc.names.Insert(name)
	return errs
}

func (cc *containerChecks) validateContainer(c *corev1.Container, p *field.Path) field.ErrorList {
	errs := cc.validateName(c.Name, p.Child("name"))
	if c.Image == "" {
		errs = append(errs, field.Required(p.Child("image"), ""))
	} else if strings.TrimSpace(c.Image) != c.Image {
		errs = append(errs, field.Invalid(p.Child("image"), c.Image, "must not have leading or trailing whitespace"))
	}
	errs = append(errs, cc.validatePorts(c.Ports, p.Child("ports"))...)
	errs = append(errs, validateEnv(c.Env, p.Child("env"))...)
	errs = append(errs, validateEnvFrom(c.EnvFrom, p.Child("envFrom"))...)
	errs = append(errs, cc.validateVolumeMounts(c.VolumeMounts, p.Child("volumeMounts"))...)
	errs = append(errs, validateResources(&c.Resources, p.Child("resources"))...)
	errs = append(errs, validateProbe(c.LivenessProbe, p.Child("livenessProbe"))...)
	errs = append(errs, validateProbe(c.ReadinessProbe, p.Child("readinessProbe"))...)
	errs = append(errs, validateProbe(c.StartupProbe, p.Child("startupProbe"))...)
	if c.Lifecycle != nil {
		errs = append(errs, validateLifecycleHandler(c.Lifecycle.PostStart, p.Child("lifecycle", "postStart"))...)
		errs = append(errs, validateLifecycleHandler(c.Lifecycle.PreStop, p.Child("lifecycle", "preStop"))...)
	}
	errs = append(errs, supported(c.ImagePullPolicy, p.Child("imagePullPolicy"),
		corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever)...)
	errs = append(errs, supported(c.TerminationMessagePolicy, p.Child("terminationMessagePolicy"),
		corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError)...)
	return append(errs, validateSecurityContext(c.SecurityContext, p.Child("securityContext"))...)
}

func (cc *containerChecks) validatePorts(ports []corev1.ContainerPort, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, port := range ports {
		p := path.Index(i)
		if port.Name != "" {
			if msgs := utilvalidation.IsValidPortName(port.Name); len(msgs) > 0 {
				errs = append(errs, invalidEach(p.Child("name"), port.Name, msgs)...)
			} else if names.Has(port.Name) {
				errs = append(errs, field.Duplicate(p.Child("name"), port.Name))
			}
			names.Insert(port.Name)
		}
		if port.ContainerPort == 0 {
			errs = append(errs, field.Required(p.Child("containerPort"), ""))
		} else {
			errs = append(errs, portNumber(port.ContainerPort, p.Child("containerPort"))...)
		}
		if cc.hostNetwork && port.HostPort != 0 && port.HostPort != port.ContainerPort {
			errs = append(errs, field.Invalid(p.Child("hostPort"), port.HostPort, "must match `containerPort` when `hostNetwork` is true"))
		}
		if port.HostPort != 0 {
			errs = append(errs, portNumber(port.HostPort, p.Child("hostPort"))...)
			key := fmt.Sprintf("%s/%s/%d", port.HostIP, port.Protocol, port.HostPort)
			if cc.hostPorts.Has(key) {
				errs = append(errs, field.Duplicate(p.Child("hostPort"), key))
			}
			cc.hostPorts.Insert(key)
		}
		if port.HostIP != "" {
			errs = append(errs, ipAddress(port.HostIP, p.Child("hostIP"))...)
		}
		errs = append(errs, protocol(port.Protocol, p.Child("protocol"))...)
	}
	return errs
}

func (cc *containerChecks) validateVolumeMounts(mounts []corev1.VolumeMount, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	mountPoints := sets.New[string]()
	for i, m := range mounts {
		p := path.Index(i)
		if m.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else if !cc.volumes.Has(m.Name) {
			errs = append(errs, field.NotFound(p.Child("name"), m.Name))
		}
		if m.MountPath == "" {
			errs = append(errs, field.Required(p.Child("mountPath"), ""))
		} else if mountPoints.Has(m.MountPath) {
			errs = append(errs, field.Invalid(p.Child("mountPath"), m.MountPath, "must be unique"))
		}
		mountPoints.Insert(m.MountPath)
		if m.SubPath != "" {
			errs = append(errs, localDescendingPath(m.SubPath, p.Child("subPath"))...)
		}
		if m.SubPath != "" && m.SubPathExpr != "" {
			errs = append(errs, field.Invalid(p.Child("subPathExpr"), m.SubPathExpr, "subPathExpr and subPath are mutually exclusive"))
		}
	}
	return errs
}

// localDescendingPath checks a relative path that stays below its root.
func localDescendingPath(target string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if strings.HasPrefix(target, "/") {
		errs = append(errs, field.Invalid(path, target, "must be a relative path"))
	}
	for _, part := range strings.Split(strings.ReplaceAll(target, `\`, "/"), "/") {
		if part == ".." {
			errs = append(errs, field.Invalid(path, target, "must not contain '..'"))
			break
		}
	}
	return errs
}

func validateSecurityContext(sc *corev1.SecurityContext, path *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	errs := nonNegative64(sc.RunAsUser, path.Child("runAsUser"))
	errs = append(errs, nonNegative64(sc.RunAsGroup, path.Child("runAsGroup"))...)
	privileged := sc.Privileged != nil && *sc.Privileged
	if privileged && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		errs = append(errs, field.Invalid(path, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
	}
	return errs
}
