// Package usage computes what one object charges against a ResourceQuota, and whether a quota's
// scopes select it. The quota controller sums it over a namespace; the API server's quota
// admission charges it for each new object. Both therefore agree on every resource name:
//
//   - object counts: pods, services, configmaps, secrets, persistentvolumeclaims,
//     replicationcontrollers, resourcequotas, and count/<resource>[.<group>] for any resource;
//   - pods: requests.cpu (also plain cpu), requests.memory (memory),
//     requests.ephemeral-storage (ephemeral-storage), limits.cpu, limits.memory,
//     limits.ephemeral-storage; a pod counts the larger of its containers' sum and any
//     init container, plus its overhead; finished pods count nothing;
//   - services: services.loadbalancers, services.nodeports (one per port);
//   - claims: requests.storage, <class>.storageclass.storage.k8s.io/requests.storage and
//     <class>.storageclass.storage.k8s.io/persistentvolumeclaims.
package usage

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// classSuffix names per-storage-class claim resources.
const classSuffix = ".storageclass.storage.k8s.io/"

// countName is the count/<resource>[.<group>] name of a resource.
func countName(gr schema.GroupResource) corev1.ResourceName {
	if gr.Group == "" {
		return corev1.ResourceName("count/" + gr.Resource)
	}
	return corev1.ResourceName("count/" + gr.Resource + "." + gr.Group)
}

// legacyCounts are the core resources also counted under their bare name.
var legacyCounts = map[string]bool{
	"pods": true, "services": true, "configmaps": true, "secrets": true,
	"persistentvolumeclaims": true, "replicationcontrollers": true, "resourcequotas": true,
}

// Of is what obj, an object of resource gr, uses. A finished pod uses nothing.
func Of(gr schema.GroupResource, obj runtime.Object) corev1.ResourceList {
	if p, ok := obj.(*corev1.Pod); ok && Finished(p) {
		return corev1.ResourceList{}
	}
	out := corev1.ResourceList{countName(gr): one()}
	if gr.Group == "" && legacyCounts[gr.Resource] {
		out[corev1.ResourceName(gr.Resource)] = one()
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		addPod(out, o)
	case *corev1.Service:
		addService(out, o)
	case *corev1.PersistentVolumeClaim:
		addClaim(out, o)
	}
	return out
}

// Finished reports whether a pod has terminated and so stops counting.
func Finished(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

func one() resource.Quantity { return *resource.NewQuantity(1, resource.DecimalSI) }

func addPod(out corev1.ResourceList, p *corev1.Pod) {
	req, lim := PodRequests(p, false), PodRequests(p, true)
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
		if q, ok := req[r]; ok {
			out[r] = q
			out["requests."+r] = q
		}
		if q, ok := lim[r]; ok {
			out["limits."+r] = q
		}
	}
}

func addService(out corev1.ResourceList, s *corev1.Service) {
	ports := int64(len(s.Spec.Ports))
	switch s.Spec.Type {
	case corev1.ServiceTypeLoadBalancer:
		out[corev1.ResourceServicesLoadBalancers] = one()
		if a := s.Spec.AllocateLoadBalancerNodePorts; a != nil && !*a {
			ports = 0
		}
		out[corev1.ResourceServicesNodePorts] = *resource.NewQuantity(ports, resource.DecimalSI)
	case corev1.ServiceTypeNodePort:
		out[corev1.ResourceServicesNodePorts] = *resource.NewQuantity(ports, resource.DecimalSI)
	}
}

func addClaim(out corev1.ResourceList, c *corev1.PersistentVolumeClaim) {
	q, ok := c.Spec.Resources.Requests[corev1.ResourceStorage]
	if ok {
		out[corev1.ResourceRequestsStorage] = q
	}
	if c.Spec.StorageClassName == nil || *c.Spec.StorageClassName == "" {
		return
	}
	class := *c.Spec.StorageClassName
	out[corev1.ResourceName(class+classSuffix+"persistentvolumeclaims")] = one()
	if ok {
		out[corev1.ResourceName(class+classSuffix+"requests.storage")] = q
	}
}

// PodRequests sums a pod's container requests (limits when limits is set): the containers and
// sidecars (restartable init containers) add up, each plain init container needs its own amount
// plus the sidecars started before it, and the pod needs the larger; overhead comes on top.
func PodRequests(p *corev1.Pod, limits bool) corev1.ResourceList {
	pick := func(c *corev1.Container) corev1.ResourceList {
		if limits {
			return c.Resources.Limits
		}
		return c.Resources.Requests
	}
	sum, sidecars, initMax := corev1.ResourceList{}, corev1.ResourceList{}, corev1.ResourceList{}
	for i := range p.Spec.Containers {
		Add(sum, pick(&p.Spec.Containers[i]))
	}
	for i := range p.Spec.InitContainers {
		c := &p.Spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			Add(sum, pick(c))
			Add(sidecars, pick(c))
			continue
		}
		need := corev1.ResourceList{}
		Add(need, pick(c))
		Add(need, sidecars)
		maxInto(initMax, need)
	}
	maxInto(sum, initMax)
	Add(sum, p.Spec.Overhead)
	return sum
}

// Add adds b into a.
func Add(a, b corev1.ResourceList) {
	for k, v := range b {
		q := a[k]
		q.Add(v)
		a[k] = q
	}
}

// Subtract is a - b over a's names.
func Subtract(a, b corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for k, v := range a {
		q := v.DeepCopy()
		if s, ok := b[k]; ok {
			q.Sub(s)
		}
		out[k] = q
	}
	return out
}

func maxInto(a, b corev1.ResourceList) {
	for k, v := range b {
		if q, ok := a[k]; !ok || v.Cmp(q) > 0 {
			a[k] = v.DeepCopy()
		}
	}
}

// Tracked reports whether name is one Of can produce, so a quota's controller can count it by
// summing Of; count/<resource> names are always tracked.
func Tracked(name corev1.ResourceName) bool {
	s := string(name)
	if legacyCounts[s] || strings.HasPrefix(s, "count/") || strings.Contains(s, classSuffix) {
		return true
	}
	switch name {
	case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage,
		corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsEphemeralStorage,
		corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceLimitsEphemeralStorage,
		corev1.ResourceServicesLoadBalancers, corev1.ResourceServicesNodePorts, corev1.ResourceRequestsStorage:
		return true
	}
	return false
}
