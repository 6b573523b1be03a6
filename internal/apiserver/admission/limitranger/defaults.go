package limitranger

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// defaults are a LimitRange's Container defaults as requirements.
func defaults(lr *corev1.LimitRange) corev1.ResourceRequirements {
	out := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	for _, item := range lr.Spec.Limits {
		if item.Type != corev1.LimitTypeContainer {
			continue
		}
		for k, v := range item.DefaultRequest {
			out.Requests[k] = v.DeepCopy()
		}
		for k, v := range item.Default {
			out.Limits[k] = v.DeepCopy()
		}
	}
	return out
}

// applyDefaults fills in what each container leaves out and notes it in the annotation.
func applyDefaults(pod *corev1.Pod, def corev1.ResourceRequirements) {
	var notes []string
	for i := range pod.Spec.Containers {
		notes = append(notes, fill(&pod.Spec.Containers[i], def, "container")...)
	}
	for i := range pod.Spec.InitContainers {
		notes = append(notes, fill(&pod.Spec.InitContainers[i], def, "init container")...)
	}
	if len(notes) == 0 {
		return
	}
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[Annotation] = "LimitRanger plugin set: " + strings.Join(notes, "; ")
}

// fill sets the container's missing requests and limits; a limit left without a request (by
// neither the container nor a defaultRequest) gets the limit as its request, as pod defaulting
// does. It returns what it set in upstream's annotation wording.
func fill(c *corev1.Container, def corev1.ResourceRequirements, kind string) []string {
	limits := setMissing(&c.Resources.Limits, def.Limits)
	requests := setMissing(&c.Resources.Requests, def.Requests)
	for k, v := range c.Resources.Limits {
		if _, ok := c.Resources.Requests[k]; !ok {
			if c.Resources.Requests == nil {
				c.Resources.Requests = corev1.ResourceList{}
			}
			c.Resources.Requests[k] = v.DeepCopy()
			requests = append(requests, string(k))
		}
	}
	var notes []string
	if len(requests) > 0 {
		sort.Strings(requests)
		notes = append(notes, fmt.Sprintf("%s request for %s %s", strings.Join(requests, ", "), kind, c.Name))
	}
	if len(limits) > 0 {
		sort.Strings(limits)
		notes = append(notes, fmt.Sprintf("%s limit for %s %s", strings.Join(limits, ", "), kind, c.Name))
	}
	return notes
}

func setMissing(dst *corev1.ResourceList, def corev1.ResourceList) []string {
	var set []string
	for k, v := range def {
		if _, ok := (*dst)[k]; ok {
			continue
		}
		if *dst == nil {
			*dst = corev1.ResourceList{}
		}
		(*dst)[k] = v.DeepCopy()
		set = append(set, string(k))
	}
	return set
}
