package printers

import (
	"fmt"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// networkingPrinter returns the printer of a kind in the networking.k8s.io group.
func networkingPrinter(kind string) (Printer, bool) {
	switch kind {
	case "Ingress":
		return ingressPrinter(), true
	case "IngressClass":
		return ingressClassPrinter(), true
	case "NetworkPolicy":
		return networkPolicyPrinter(), true
	}
	return Printer{}, false
}

func ingressPrinter() Printer {
	return Printer{
		Columns: cols(nameColumn(),
			str("Class", "The name of the IngressClass resource that should be used for additional configuration"),
			str("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
			str("Address", "Address is a list containing ingress points for the load-balancer"),
			str("Ports", "Ports of TLS configurations that open"),
			ageColumn()),
		Cells: simpleCells(func(in *networkingv1.Ingress, now time.Time) []interface{} {
			class := none
			if in.Spec.IngressClassName != nil {
				class = *in.Spec.IngressClassName
			}
			ports := "80"
			if len(in.Spec.TLS) != 0 {
				ports = "80, 443"
			}
			return []interface{}{in.Name, class, ingressHosts(in.Spec.Rules), ingressAddress(in.Status.LoadBalancer), ports, age(in.CreationTimestamp, now)}
		}),
	}
}

// ingressHosts lists the hosts of the first three rules that name one ("*" if none
// does) and, past three, how many rules there are besides.
func ingressHosts(rules []networkingv1.IngressRule) string {
	const max = 3
	var hosts []string
	more := false
	for _, r := range rules {
		if len(hosts) == max {
			more = true
		}
		if !more && r.Host != "" {
			hosts = append(hosts, r.Host)
		}
	}
	switch {
	case len(hosts) == 0:
		return "*"
	case more:
		return fmt.Sprintf("%s + %d more...", strings.Join(hosts, ","), len(rules)-max)
	}
	return strings.Join(hosts, ",")
}

// ingressAddress lists the load balancer's distinct IPs or host names, sorted.
// The server renders it as for `-o wide`, so it is never clipped.
func ingressAddress(lb networkingv1.IngressLoadBalancerStatus) string {
	var addrs []string
	for _, in := range lb.Ingress {
		addrs = append(addrs, firstNonEmpty(in.IP, in.Hostname))
	}
	return strings.Join(sortedSet(addrs), ",")
}

func ingressClassPrinter() Printer {
	return Printer{
		Columns: cols(nameColumn(),
			str("Controller", "Controller that is responsible for handling this class"),
			str("Parameters", "A reference to a resource with additional parameters"),
			ageColumn()),
		Cells: simpleCells(func(ic *networkingv1.IngressClass, now time.Time) []interface{} {
			name := ic.Name
			if ic.Annotations[networkingv1.AnnotationIsDefaultIngressClass] == "true" {
				name += " (default)"
			}
			return []interface{}{name, ic.Spec.Controller, ingressClassParameters(ic.Spec.Parameters), age(ic.CreationTimestamp, now)}
		}),
	}
}

// ingressClassParameters is "Kind.apiGroup/name" of the parameters resource, or <none>.
func ingressClassParameters(p *networkingv1.IngressClassParametersReference) string {
	if p == nil {
		return none
	}
	kind := p.Kind
	if p.APIGroup != nil {
		kind += "." + *p.APIGroup
	}
	return kind + "/" + p.Name
}

func networkPolicyPrinter() Printer {
	return Printer{
		Columns: cols(nameColumn(), str("Pod-Selector", networkingv1.NetworkPolicySpec{}.SwaggerDoc()["podSelector"]), ageColumn()),
		Cells: simpleCells(func(np *networkingv1.NetworkPolicy, now time.Time) []interface{} {
			return []interface{}{np.Name, metav1.FormatLabelSelector(&np.Spec.PodSelector), age(np.CreationTimestamp, now)}
		}),
	}
}
