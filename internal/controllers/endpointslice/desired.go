package endpointslice

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/controller"
)

// desired computes svc's slices from its pods, deterministically ordered. A service selecting
// nothing still gets one empty slice, as upstream does.
func desired(svc *corev1.Service, pods []*corev1.Pod) []*discoveryv1.EndpointSlice {
	groups := map[string][]discoveryv1.Endpoint{}
	ports := map[string][]discoveryv1.EndpointPort{}
	for _, pod := range pods {
		if pod.Status.PodIP == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		pp, sig, ok := controller.ResolvePorts(svc, pod)
		if !ok {
			continue
		}
		ports[sig] = slicePorts(pp)
		groups[sig] = append(groups[sig], endpoint(svc, pod))
	}
	sigs := make([]string, 0, len(groups))
	for s := range groups {
		sigs = append(sigs, s)
	}
	sort.Strings(sigs)
	var out []*discoveryv1.EndpointSlice
	for _, sig := range sigs {
		eps := groups[sig]
		sort.Slice(eps, func(i, j int) bool { return eps[i].Addresses[0] < eps[j].Addresses[0] })
		for start := 0; start < len(eps); start += MaxEndpoints {
			out = append(out, slice(svc, eps[start:min(start+MaxEndpoints, len(eps))], ports[sig]))
		}
	}
	if len(out) == 0 {
		out = append(out, slice(svc, nil, nil))
	}
	return out
}

func endpoint(svc *corev1.Service, pod *corev1.Pod) discoveryv1.Endpoint {
	terminating := pod.DeletionTimestamp != nil
	ready := controller.IsPodReady(pod)
	serving := ready
	if svc.Spec.PublishNotReadyAddresses {
		ready = true
	}
	ready = ready && !terminating
	ep := discoveryv1.Endpoint{
		Addresses:  []string{pod.Status.PodIP},
		Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating},
		TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
	}
	if pod.Spec.NodeName != "" {
		n := pod.Spec.NodeName
		ep.NodeName = &n
	}
	return ep
}

func slice(svc *corev1.Service, eps []discoveryv1.Endpoint, ports []discoveryv1.EndpointPort) *discoveryv1.EndpointSlice {
	lbls := map[string]string{}
	for k, v := range svc.Labels {
		lbls[k] = v
	}
	lbls[discoveryv1.LabelServiceName] = svc.Name
	lbls[discoveryv1.LabelManagedBy] = ManagedBy
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		lbls[corev1.IsHeadlessService] = ""
	}
	yes := true
	if eps == nil {
		eps = []discoveryv1.Endpoint{}
	}
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: svc.Name + "-", Namespace: svc.Namespace, Labels: lbls,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Service", Name: svc.Name, UID: svc.UID, Controller: &yes, BlockOwnerDeletion: &yes}},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   eps,
		Ports:       ports,
	}
}

// slicePorts are the resolved ports as an EndpointSlice lists them.
func slicePorts(ports []controller.ResolvedPort) []discoveryv1.EndpointPort {
	var out []discoveryv1.EndpointPort
	for _, p := range ports {
		out = append(out, discoveryv1.EndpointPort{Name: &p.Name, Port: &p.Port, Protocol: &p.Protocol, AppProtocol: p.AppProtocol})
	}
	return out
}
