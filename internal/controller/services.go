package controller

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// ResolvedPort is one of a Service's ports resolved on one pod.
type ResolvedPort struct {
	Name        string
	Port        int32
	Protocol    corev1.Protocol
	AppProtocol *string
}

// ResolvePorts resolves svc's ports on pod, ordered by name, with a key shared by the pods whose
// ports resolve alike (what Endpoints subsets and EndpointSlices group by). A pod that resolves
// none of several ports is left out (false); a headless service without ports lists every pod.
func ResolvePorts(svc *corev1.Service, pod *corev1.Pod) ([]ResolvedPort, string, bool) {
	var ports []ResolvedPort
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		if n, ok := findPort(pod, sp); ok {
			ports = append(ports, ResolvedPort{Name: sp.Name, Port: n, Protocol: sp.Protocol, AppProtocol: sp.AppProtocol})
		}
	}
	if len(svc.Spec.Ports) > 0 && len(ports) == 0 {
		return nil, "", false
	}
	sort.Slice(ports, func(i, j int) bool { return ports[i].Name < ports[j].Name })
	parts := make([]string, len(ports))
	for i, p := range ports {
		parts[i] = fmt.Sprintf("%s/%d/%s", p.Name, p.Port, p.Protocol)
	}
	return ports, strings.Join(parts, ","), true
}

// findPort resolves a Service port's targetPort on pod: a number as is (the port itself when
// unset), a name through the pod's container ports of the same protocol.
func findPort(pod *corev1.Pod, sp *corev1.ServicePort) (int32, bool) {
	tp := sp.TargetPort
	switch {
	case tp.Type == 0 && tp.IntVal == 0 && tp.StrVal == "":
		return sp.Port, true
	case tp.Type == 0:
		return tp.IntVal, true
	}
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name == tp.StrVal && (p.Protocol == sp.Protocol || p.Protocol == "" && sp.Protocol == corev1.ProtocolTCP) {
				return p.ContainerPort, true
			}
		}
	}
	return 0, false
}

// ServicePodHandler queues, on loop, the services of lister that select a changed pod (by its
// old labels and its new ones): what a controller deriving something from a service's pods
// (Endpoints, EndpointSlices) must recompute.
func ServicePodHandler(svcs corelisters.ServiceLister, loop *Loop) cache.ResourceEventHandler {
	enqueue := func(ns string, sets ...map[string]string) {
		all, err := svcs.Services(ns).List(labels.Everything())
		if err != nil {
			return
		}
		for _, s := range servicesSelecting(all, sets...) {
			loop.Enqueue(s)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) { p := o.(*corev1.Pod); enqueue(p.Namespace, p.Labels) },
		UpdateFunc: func(o, n any) {
			old, p := o.(*corev1.Pod), n.(*corev1.Pod)
			if old.ResourceVersion != p.ResourceVersion {
				enqueue(p.Namespace, old.Labels, p.Labels)
			}
		},
		DeleteFunc: func(o any) {
			if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = t.Obj
			}
			if p, ok := o.(*corev1.Pod); ok {
				enqueue(p.Namespace, p.Labels)
			}
		},
	}
}

// servicesSelecting returns the services whose selector matches any of the label sets.
func servicesSelecting(svcs []*corev1.Service, sets ...map[string]string) []*corev1.Service {
	var out []*corev1.Service
	for _, s := range svcs {
		if len(s.Spec.Selector) == 0 {
			continue
		}
		sel := labels.SelectorFromValidatedSet(s.Spec.Selector)
		for _, set := range sets {
			if set != nil && sel.Matches(labels.Set(set)) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}
