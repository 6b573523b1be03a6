package endpoints

import (
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/klite/klite/internal/controller"
)

// subsets computes the Endpoints subsets of svc from its pods; deterministic order.
func subsets(svc *corev1.Service, pods []*corev1.Pod) []corev1.EndpointSubset {
	bySig := map[string]*corev1.EndpointSubset{}
	var sigs []string
	for _, pod := range pods {
		if pod.Status.PodIP == "" || pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		ports, sig, ok := controller.ResolvePorts(svc, pod)
		if !ok {
			continue
		}
		sub := bySig[sig]
		if sub == nil {
			sub = &corev1.EndpointSubset{Ports: endpointPorts(ports)}
			bySig[sig] = sub
			sigs = append(sigs, sig)
		}
		addr := corev1.EndpointAddress{IP: pod.Status.PodIP, TargetRef: &corev1.ObjectReference{
			Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID,
		}}
		if pod.Spec.NodeName != "" {
			node := pod.Spec.NodeName
			addr.NodeName = &node
		}
		if svc.Spec.PublishNotReadyAddresses || controller.IsPodReady(pod) {
			sub.Addresses = append(sub.Addresses, addr)
		} else {
			sub.NotReadyAddresses = append(sub.NotReadyAddresses, addr)
		}
	}
	sort.Strings(sigs)
	out := []corev1.EndpointSubset{}
	for _, s := range sigs {
		sub := bySig[s]
		sortAddrs(sub.Addresses)
		sortAddrs(sub.NotReadyAddresses)
		out = append(out, *sub)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// endpointPorts are the resolved ports as an Endpoints subset lists them.
func endpointPorts(ports []controller.ResolvedPort) []corev1.EndpointPort {
	var out []corev1.EndpointPort
	for _, p := range ports {
		out = append(out, corev1.EndpointPort{Name: p.Name, Port: p.Port, Protocol: p.Protocol, AppProtocol: p.AppProtocol})
	}
	return out
}

func sortAddrs(a []corev1.EndpointAddress) {
	sort.Slice(a, func(i, j int) bool { return a[i].IP < a[j].IP })
}
