package printers

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// corePrinter returns the printer of a kind in the core ("") group.
func corePrinter(kind string) (Printer, bool) {
	switch kind {
	case "Pod":
		return podPrinter(), true
	case "PodTemplate":
		return podTemplatePrinter(), true
	case "ReplicationController":
		return replicationControllerPrinter(), true
	case "Service":
		return servicePrinter(), true
	case "Endpoints":
		return endpointsPrinter(), true
	case "Node":
		return nodePrinter(), true
	case "Event":
		return eventPrinter(simpleCells(coreEventCells)), true
	case "Namespace":
		return namespacePrinter(), true
	case "Secret":
		return secretPrinter(), true
	case "ServiceAccount":
		return serviceAccountPrinter(), true
	case "ConfigMap":
		return configMapPrinter(), true
	case "ResourceQuota":
		return resourceQuotaPrinter(), true
	}
	return volumePrinter(kind)
}

func podTemplatePrinter() Printer {
	return Printer{
		Columns: cols(nameColumn(),
			str("Containers", "Names of each container in the template."),
			str("Images", "Images referenced by each container in the template."),
			str("Pod Labels", "The labels for the pod template.")),
		Cells: simpleCells(func(t *corev1.PodTemplate, _ time.Time) []interface{} {
			names, images := containerCells(t.Template.Spec.Containers)
			return []interface{}{t.Name, names, images, labels.FormatLabels(t.Template.Labels)}
		}),
	}
}

func replicationControllerPrinter() Printer {
	spec, status := corev1.ReplicationControllerSpec{}.SwaggerDoc(), corev1.ReplicationControllerStatus{}.SwaggerDoc()
	return Printer{
		Columns: columns(cols(nameColumn(),
			integer("Desired", spec["replicas"]),
			integer("Current", status["replicas"]),
			integer("Ready", status["readyReplicas"]),
			ageColumn()), templateColumns(spec["selector"])),
		Cells: simpleCells(func(rc *corev1.ReplicationController, now time.Time) []interface{} {
			cells := []interface{}{rc.Name, deref(rc.Spec.Replicas), int64(rc.Status.Replicas), int64(rc.Status.ReadyReplicas), age(rc.CreationTimestamp, now)}
			var podSpec corev1.PodSpec
			if rc.Spec.Template != nil {
				podSpec = rc.Spec.Template.Spec
			}
			selector := labels.FormatLabels(rc.Spec.Selector)
			return withTemplate(cells, podSpec, &selector)
		}),
	}
}

func servicePrinter() Printer {
	spec := corev1.ServiceSpec{}.SwaggerDoc()
	return Printer{
		Columns: cols(nameColumn(),
			str("Type", spec["type"]),
			str("Cluster-IP", spec["clusterIP"]),
			str("External-IP", spec["externalIPs"]),
			str("Port(s)", spec["ports"]),
			ageColumn(),
			wide(str("Selector", spec["selector"]))),
		Cells: simpleCells(serviceCells),
	}
}

func serviceCells(svc *corev1.Service, now time.Time) []interface{} {
	clusterIP := none
	if len(svc.Spec.ClusterIPs) > 0 {
		clusterIP = svc.Spec.ClusterIPs[0]
	}
	ports := servicePorts(svc.Spec.Ports)
	if ports == "" {
		ports = none
	}
	return []interface{}{svc.Name, string(svc.Spec.Type), clusterIP, serviceExternalIP(svc), ports,
		age(svc.CreationTimestamp, now), labels.FormatLabels(svc.Spec.Selector)}
}

// serviceExternalIP renders the External-IP cell. The server renders it as for
// `-o wide`, so load balancer addresses are never clipped.
func serviceExternalIP(svc *corev1.Service) string {
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		if len(svc.Spec.ExternalIPs) > 0 {
			return strings.Join(svc.Spec.ExternalIPs, ",")
		}
		return none
	case corev1.ServiceTypeLoadBalancer:
		var addrs []string
		for _, in := range svc.Status.LoadBalancer.Ingress {
			addrs = append(addrs, firstNonEmpty(in.IP, in.Hostname))
		}
		all := append(sortedSet(addrs), svc.Spec.ExternalIPs...)
		if len(all) == 0 {
			return "<pending>"
		}
		return strings.Join(all, ",")
	case corev1.ServiceTypeExternalName:
		return svc.Spec.ExternalName
	}
	return unknown
}

// servicePorts renders ports as "80/TCP,443:30443/TCP".
func servicePorts(ports []corev1.ServicePort) string {
	pieces := make([]string, len(ports))
	for i, p := range ports {
		pieces[i] = fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		if p.NodePort > 0 {
			pieces[i] = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol)
		}
	}
	return strings.Join(pieces, ",")
}

func endpointsPrinter() Printer {
	return Printer{
		Columns: cols(nameColumn(), str("Endpoints", corev1.Endpoints{}.SwaggerDoc()["subsets"]), ageColumn()),
		Cells: simpleCells(func(ep *corev1.Endpoints, now time.Time) []interface{} {
			return []interface{}{ep.Name, formatEndpoints(ep), age(ep.CreationTimestamp, now)}
		}),
	}
}

// formatEndpoints lists up to three address:port pairs (bare addresses for
// subsets without ports) and how many more there are.
func formatEndpoints(ep *corev1.Endpoints) string {
	if len(ep.Subsets) == 0 {
		return none
	}
	var list []string
	count := 0
	for _, ss := range ep.Subsets {
		if len(ss.Ports) == 0 {
			count += len(ss.Addresses)
			for _, a := range ss.Addresses {
				list = append(list, a.IP)
			}
			continue
		}
		for _, p := range ss.Ports {
			count += len(ss.Addresses)
			for _, a := range ss.Addresses {
				list = append(list, net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port))))
			}
		}
	}
	return listWithMore(list, count, 3, "")
}

func nodePrinter() Printer {
	info, status := corev1.NodeSystemInfo{}.SwaggerDoc(), corev1.NodeStatus{}.SwaggerDoc()
	return Printer{
		Columns: cols(nameColumn(),
			str("Status", "The status of the node"),
			str("Roles", "The roles of the node"),
			ageColumn(),
			str("Version", info["kubeletVersion"]),
			wide(str("Internal-IP", status["addresses"])),
			wide(str("External-IP", status["addresses"])),
			wide(str("OS-Image", info["osImage"])),
			wide(str("Kernel-Version", info["kernelVersion"])),
			wide(str("Container-Runtime", info["containerRuntimeVersion"]))),
		Cells: simpleCells(nodeCells),
	}
}

func nodeCells(node *corev1.Node, now time.Time) []interface{} {
	ni := node.Status.NodeInfo
	kernel := orUnknown(ni.KernelVersion)
	if ni.Architecture != "" {
		kernel += " (" + ni.Architecture + ")"
	}
	roles := strings.Join(nodeRoles(node.Labels), ",")
	return []interface{}{node.Name, nodeStatus(node), orNone(roles), age(node.CreationTimestamp, now), ni.KubeletVersion,
		nodeAddress(node, corev1.NodeInternalIP), nodeAddress(node, corev1.NodeExternalIP),
		orUnknown(ni.OSImage), kernel, orUnknown(ni.ContainerRuntimeVersion)}
}

// nodeStatus is Ready, NotReady or Unknown (from the last Ready condition),
// followed by ",SchedulingDisabled" for a cordoned node.
func nodeStatus(node *corev1.Node) string {
	status := "Unknown"
	for _, c := range node.Status.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		status = "Not" + string(c.Type)
		if c.Status == corev1.ConditionTrue {
			status = string(c.Type)
		}
	}
	if node.Spec.Unschedulable {
		status += ",SchedulingDisabled"
	}
	return status
}

// nodeRoles are the sorted roles named by node-role.kubernetes.io/<role> labels
// and the kubernetes.io/role label.
func nodeRoles(nodeLabels map[string]string) []string {
	const rolePrefix, roleLabel = "node-role.kubernetes.io/", "kubernetes.io/role"
	var roles []string
	for k, v := range nodeLabels {
		switch {
		case strings.HasPrefix(k, rolePrefix):
			roles = append(roles, strings.TrimPrefix(k, rolePrefix))
		case k == roleLabel:
			roles = append(roles, v)
		}
	}
	return sortedSet(roles)
}

// nodeAddress is the node's first address of type t, or <none>.
func nodeAddress(node *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range node.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return none
}

func orUnknown(s string) string {
	if s == "" {
		return unknown
	}
	return s
}

func namespacePrinter() Printer {
	return Printer{
		Columns: cols(nameColumn(), str("Status", "The status of the namespace"), ageColumn()),
		Cells: simpleCells(func(ns *corev1.Namespace, now time.Time) []interface{} {
			return []interface{}{ns.Name, string(ns.Status.Phase), age(ns.CreationTimestamp, now)}
		}),
	}
}

func secretPrinter() Printer {
	doc := corev1.Secret{}.SwaggerDoc()
	return Printer{
		Columns: cols(nameColumn(), str("Type", doc["type"]), str("Data", doc["data"]), ageColumn()),
		Cells: simpleCells(func(s *corev1.Secret, now time.Time) []interface{} {
			return []interface{}{s.Name, string(s.Type), int64(secretKeys(s)), age(s.CreationTimestamp, now)}
		}),
	}
}

// secretKeys counts the keys of data and of stringData, which the API merges into data.
func secretKeys(s *corev1.Secret) int {
	n := len(s.Data)
	for k := range s.StringData {
		if _, dup := s.Data[k]; !dup {
			n++
		}
	}
	return n
}

func serviceAccountPrinter() Printer {
	return Printer{
		Columns: cols(nameColumn(), ageColumn()),
		Cells: simpleCells(func(sa *corev1.ServiceAccount, now time.Time) []interface{} {
			return []interface{}{sa.Name, age(sa.CreationTimestamp, now)}
		}),
	}
}

func configMapPrinter() Printer {
	return Printer{
		Columns: cols(nameColumn(), str("Data", corev1.ConfigMap{}.SwaggerDoc()["data"]), ageColumn()),
		Cells: simpleCells(func(cm *corev1.ConfigMap, now time.Time) []interface{} {
			return []interface{}{cm.Name, int64(len(cm.Data) + len(cm.BinaryData)), age(cm.CreationTimestamp, now)}
		}),
	}
}

func resourceQuotaPrinter() Printer {
	return Printer{
		Columns: cols(nameColumn(),
			str("Request", "Request represents a minimum amount of cpu/memory that a container may consume."),
			str("Limit", "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."),
			ageColumn()),
		Cells: simpleCells(func(q *corev1.ResourceQuota, now time.Time) []interface{} {
			requests, limits := quotaUsage(q)
			return []interface{}{q.Name, requests, limits, age(q.CreationTimestamp, now)}
		}),
	}
}

// quotaUsage renders "name: used/hard" for each hard limit, sorted by name, split into
// the limits.* resources and all others.
func quotaUsage(q *corev1.ResourceQuota) (requests, limits string) {
	names := make([]string, 0, len(q.Status.Hard))
	for name := range q.Status.Hard {
		names = append(names, string(name))
	}
	sort.Strings(names)
	var req, lim []string
	for _, name := range names {
		used, hard := q.Status.Used[corev1.ResourceName(name)], q.Status.Hard[corev1.ResourceName(name)]
		entry := fmt.Sprintf("%s: %s/%s", name, used.String(), hard.String())
		if prefix, _, found := strings.Cut(name, "."); found && prefix == "limits" {
			lim = append(lim, entry)
		} else {
			req = append(req, entry)
		}
	}
	return strings.Join(req, ", "), strings.Join(lim, ", ")
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
