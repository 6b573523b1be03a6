package resourcequota

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
)

// usage computes status.used for the resources q limits (those it can count).
func (c *Controller) usage(q *corev1.ResourceQuota) (corev1.ResourceList, error) {
	ns := q.Namespace
	all := labels.Everything()
	pods, err := c.cfg.Pods.Lister().Pods(ns).List(all)
	if err != nil {
		return nil, err
	}
	var counted []*corev1.Pod
	for _, p := range pods {
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && matchesScopes(q, p) {
			counted = append(counted, p)
		}
	}
	svcs, _ := c.cfg.Services.Lister().Services(ns).List(all)
	cms, _ := c.cfg.ConfigMaps.Lister().ConfigMaps(ns).List(all)
	secrets, _ := c.cfg.Secrets.Lister().Secrets(ns).List(all)
	claims, _ := c.cfg.Claims.Lister().PersistentVolumeClaims(ns).List(all)
	rcs, _ := c.cfg.ReplicationControllers.Lister().ReplicationControllers(ns).List(all)
	quotas, _ := c.quotas.ResourceQuotas(ns).List(all)
	counts := map[string]int{
		"pods": len(counted), "services": len(svcs), "configmaps": len(cms), "secrets": len(secrets),
		"persistentvolumeclaims": len(claims), "replicationcontrollers": len(rcs), "resourcequotas": len(quotas),
	}
	for _, s := range svcs {
		switch s.Spec.Type {
		case corev1.ServiceTypeLoadBalancer:
			counts["services.loadbalancers"]++
			counts["services.nodeports"]++
		case corev1.ServiceTypeNodePort:
			counts["services.nodeports"]++
		}
	}
	used := corev1.ResourceList{}
	for name := range q.Spec.Hard {
		if v, ok := value(string(name), counts, counted, claims); ok {
			used[name] = v
		}
	}
	return used, nil
}

// value is the usage of one quota resource name, if known.
func value(name string, counts map[string]int, pods []*corev1.Pod, claims []*corev1.PersistentVolumeClaim) (resource.Quantity, bool) {
	if n, ok := counts[name]; ok {
		return *resource.NewQuantity(int64(n), resource.DecimalSI), true
	}
	if res, ok := strings.CutPrefix(name, "count/"); ok {
		if n, ok := counts[res]; ok {
			return *resource.NewQuantity(int64(n), resource.DecimalSI), true
		}
		return resource.Quantity{}, false
	}
	switch name {
	case "cpu", "requests.cpu":
		return podSum(pods, corev1.ResourceCPU, false), true
	case "memory", "requests.memory":
		return podSum(pods, corev1.ResourceMemory, false), true
	case "limits.cpu":
		return podSum(pods, corev1.ResourceCPU, true), true
	case "limits.memory":
		return podSum(pods, corev1.ResourceMemory, true), true
	case "requests.storage":
		return claimSum(claims, ""), true
	}
	if class, ok := strings.CutSuffix(name, ".storageclass.storage.k8s.io/requests.storage"); ok {
		return claimSum(claims, class), true
	}
	if class, ok := strings.CutSuffix(name, ".storageclass.storage.k8s.io/persistentvolumeclaims"); ok {
		n := 0
		for _, c := range claims {
			if c.Spec.StorageClassName != nil && *c.Spec.StorageClassName == class {
				n++
			}
		}
		return *resource.NewQuantity(int64(n), resource.DecimalSI), true
	}
	return resource.Quantity{}, false
}

// podSum adds up a resource's requests (or limits) over pods: per pod the larger of the sum
// over containers and the largest init container.
func podSum(pods []*corev1.Pod, r corev1.ResourceName, limits bool) resource.Quantity {
	total := resource.Quantity{Format: resource.DecimalSI}
	if r == corev1.ResourceMemory {
		total.Format = resource.BinarySI
	}
	pick := func(c corev1.Container) corev1.ResourceList {
		if limits {
			return c.Resources.Limits
		}
		return c.Resources.Requests
	}
	for _, p := range pods {
		sum := resource.Quantity{}
		for _, c := range p.Spec.Containers {
			if q, ok := pick(c)[r]; ok {
				sum.Add(q)
			}
		}
		for _, c := range p.Spec.InitContainers {
			if q, ok := pick(c)[r]; ok && q.Cmp(sum) > 0 {
				sum = q.DeepCopy()
			}
		}
		total.Add(sum)
	}
	return total
}

// claimSum adds up storage requests of claims (of one class when class is set).
func claimSum(claims []*corev1.PersistentVolumeClaim, class string) resource.Quantity {
	total := resource.Quantity{Format: resource.BinarySI}
	for _, c := range claims {
		if class != "" && (c.Spec.StorageClassName == nil || *c.Spec.StorageClassName != class) {
			continue
		}
		if q, ok := c.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
			total.Add(q)
		}
	}
	return total
}

// matchesScopes applies the pod scopes klite understands (Terminating, NotTerminating,
// BestEffort, NotBestEffort).
func matchesScopes(q *corev1.ResourceQuota, p *corev1.Pod) bool {
	for _, s := range q.Spec.Scopes {
		terminating := p.Spec.ActiveDeadlineSeconds != nil
		best := bestEffort(p)
		switch s {
		case corev1.ResourceQuotaScopeTerminating:
			if !terminating {
				return false
			}
		case corev1.ResourceQuotaScopeNotTerminating:
			if terminating {
				return false
			}
		case corev1.ResourceQuotaScopeBestEffort:
			if !best {
				return false
			}
		case corev1.ResourceQuotaScopeNotBestEffort:
			if best {
				return false
			}
		}
	}
	return true
}

func bestEffort(p *corev1.Pod) bool {
	for _, c := range append(append([]corev1.Container(nil), p.Spec.InitContainers...), p.Spec.Containers...) {
		if len(c.Resources.Requests) > 0 || len(c.Resources.Limits) > 0 {
			return false
		}
	}
	return true
}
