package validation

import (
	"fmt"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const podUpdateForbiddenMsg = "pod updates may not change fields other than `spec.containers[*].image`," +
	"`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations)," +
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"

// validatePodUpdate allows changes to images, a shorter activeDeadlineSeconds,
// added tolerations, removed scheduling gates, and nothing else in the spec.
func validatePodUpdate(p, old *corev1.Pod) field.ErrorList {
	errs := validateActiveDeadlineUpdate(p.Spec.ActiveDeadlineSeconds, old.Spec.ActiveDeadlineSeconds)
	errs = append(errs, validateTolerationsUpdate(p.Spec.Tolerations, old.Spec.Tolerations)...)
	errs = append(errs, validateGatesUpdate(p.Spec.SchedulingGates, old.Spec.SchedulingGates)...)

	munged := p.Spec.DeepCopy()
	copyImages(munged.Containers, old.Spec.Containers)
	copyImages(munged.InitContainers, old.Spec.InitContainers)
	munged.ActiveDeadlineSeconds = old.Spec.ActiveDeadlineSeconds
	munged.Tolerations = old.Spec.Tolerations
	munged.SchedulingGates = old.Spec.SchedulingGates
	if g := old.Spec.TerminationGracePeriodSeconds; g != nil && *g < 0 && ptrEqual(munged.TerminationGracePeriodSeconds, 1) {
		munged.TerminationGracePeriodSeconds = g
	}
	if !semanticEqual(*munged, old.Spec) {
		diff := cmp.Diff(old.Spec, *munged)
		errs = append(errs, field.Forbidden(specPath, fmt.Sprintf("%s\n%v", podUpdateForbiddenMsg, diff)))
	}
	return errs
}

func ptrEqual[T comparable](p *T, v T) bool { return p != nil && *p == v }

func copyImages(dst, src []corev1.Container) {
	if len(dst) != len(src) {
		return
	}
	for i := range dst {
		dst[i].Image = src[i].Image
	}
}

func validateActiveDeadlineUpdate(newVal, oldVal *int64) field.ErrorList {
	p := specPath.Child("activeDeadlineSeconds")
	switch {
	case oldVal == nil:
		return nil
	case newVal == nil:
		return field.ErrorList{field.Invalid(p, newVal, "must not update from a positive integer to nil value")}
	case *newVal > *oldVal:
		return field.ErrorList{field.Invalid(p, *newVal, "must be less than or equal to previous value")}
	}
	return nil
}

// validateTolerationsUpdate checks that every old toleration is still there;
// a NoExecute toleration may only shorten its tolerationSeconds.
func validateTolerationsUpdate(newTols, oldTols []corev1.Toleration) field.ErrorList {
	for _, o := range oldTols {
		found := false
		for _, n := range newTols {
			if sameToleration(n, o) {
				found = true
				break
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(specPath.Child("tolerations"), "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return nil
}

func sameToleration(n, o corev1.Toleration) bool {
	if n.Key != o.Key || n.Operator != o.Operator || n.Value != o.Value || n.Effect != o.Effect {
		return false
	}
	if o.TolerationSeconds == nil {
		return n.TolerationSeconds == nil
	}
	return n.TolerationSeconds != nil && *n.TolerationSeconds <= *o.TolerationSeconds
}

func validateGatesUpdate(newGates, oldGates []corev1.PodSchedulingGate) field.ErrorList {
	old := sets.New[string]()
	for _, g := range oldGates {
		old.Insert(g.Name)
	}
	for i, g := range newGates {
		if !old.Has(g.Name) {
			return field.ErrorList{field.Forbidden(specPath.Child("schedulingGates").Index(i), "only deletion is allowed, but found new scheduling gate '"+g.Name+"'")}
		}
	}
	return nil
}

var statusPath = field.NewPath("status")

func validatePodStatusUpdate(p, old *corev1.Pod) field.ErrorList {
	var errs field.ErrorList
	s := &p.Status
	if s.NominatedNodeName != "" {
		errs = append(errs, dnsSubdomain(s.NominatedNodeName, statusPath.Child("nominatedNodeName"))...)
	}
	errs = append(errs, validateIPList(podIPStrings(s.PodIPs), statusPath.Child("podIPs"))...)
	errs = append(errs, validateIPList(hostIPStrings(s.HostIPs), statusPath.Child("hostIPs"))...)
	terminal := func(ph corev1.PodPhase) bool { return ph == corev1.PodSucceeded || ph == corev1.PodFailed }
	if terminal(old.Status.Phase) && s.Phase != old.Status.Phase {
		errs = append(errs, field.Forbidden(statusPath.Child("phase"),
			fmt.Sprintf("cannot transition from a terminal phase %q to %q", old.Status.Phase, s.Phase)))
	}
	if p.Spec.NodeName != old.Spec.NodeName {
		errs = append(errs, immutable(p.Spec.NodeName, old.Spec.NodeName, specPath.Child("nodeName"))...)
	}
	// The QoS class is fixed once set. A writer that omits it (an empty
	// value) is tolerated rather than failing every kubelet status write.
	if s.QOSClass != "" {
		errs = append(errs, immutable(s.QOSClass, old.Status.QOSClass, statusPath.Child("qosClass"))...)
	}
	restart := old.Spec.RestartPolicy
	errs = append(errs, validateStateTransitions(s.ContainerStatuses, old.Status.ContainerStatuses, restart, statusPath.Child("containerStatuses"))...)
	if restart != corev1.RestartPolicyAlways {
		errs = append(errs, validateStateTransitions(s.InitContainerStatuses, old.Status.InitContainerStatuses, restart, statusPath.Child("initContainerStatuses"))...)
	}
	return errs
}

// validateStateTransitions refuses to bring back a container that its
// restart policy says stays terminated: any under Never, a successful one
// under OnFailure.
func validateStateTransitions(statuses, old []corev1.ContainerStatus, restart corev1.RestartPolicy, path *field.Path) field.ErrorList {
	if restart == corev1.RestartPolicyAlways {
		return nil
	}
	var errs field.ErrorList
	for i, st := range statuses {
		for _, o := range old {
			if o.Name != st.Name || o.State.Terminated == nil || st.State.Terminated != nil {
				continue
			}
			if restart == corev1.RestartPolicyNever || o.State.Terminated.ExitCode == 0 {
				errs = append(errs, field.Forbidden(path.Index(i).Child("state"), "may not be transitioned to non-terminated state"))
			}
		}
	}
	return errs
}

func podIPStrings(ips []corev1.PodIP) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.IP
	}
	return out
}

func hostIPStrings(ips []corev1.HostIP) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.IP
	}
	return out
}

// validateIPList checks each address and that none repeats.
func validateIPList(ips []string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, ip := range ips {
		p := path.Index(i).Child("ip")
		errs = append(errs, ipAddress(ip, p)...)
		if seen.Has(ip) {
			errs = append(errs, field.Duplicate(p, ip))
		}
		seen.Insert(ip)
	}
	return errs
}
