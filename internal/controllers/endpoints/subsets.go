package endpoints

import (
	"fmt"
	"sort"
	"strings"

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
		ports, ok := podPorts(svc, pod)
		if !ok {
			continue
		}
		sig := portSig(ports)
		sub := bySig[sig]
		if sub == nil {
			sub = &corev1.EndpointSubset{Ports: ports}
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

// podPorts resolves svc's ports on pod; a pod that resolves none of several ports is left out.
// A headless service without ports still lists its pods.
func podPorts(svc *corev1.Service, pod *corev1.Pod) ([]corev1.EndpointPort, bool) {
	var ports []corev1.EndpointPort
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		n, ok := controller.FindPort(pod, sp)
		if !ok {
			continue
		}
		ports = append(ports, corev1.EndpointPort{Name: sp.Name, Port: n, Protocol: sp.Protocol, AppProtocol: sp.AppProtocol})
	}
	if len(svc.Spec.Ports) > 0 && len(ports) == 0 {
		return nil, false
	}
	sort.Slice(ports, func(i, j int) bool { return ports[i].Name < ports[j].Name })
	return ports, true
}

func portSig(ports []corev1.EndpointPort) string {
	parts := make([]string, len(ports))
	for i, p := range ports {
		parts[i] = fmt.Sprintf("%s/%d/%s", p.Name, p.Port, p.Protocol)
	}
	return strings.Join(parts, ",")
}

func sortAddrs(a []corev1.EndpointAddress) {
	sort.Slice(a, func(i, j int) bool { return a[i].IP < a[j].IP })
}
