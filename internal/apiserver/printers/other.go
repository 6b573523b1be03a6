package printers

import (
	"strconv"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// otherPrinter returns the printer of a kind in the remaining groups that have one.
func otherPrinter(gk schema.GroupKind) (Printer, bool) {
	switch gk.Group + "/" + gk.Kind {
	case "coordination.k8s.io/Lease":
		return leasePrinter(), true
	case "discovery.k8s.io/EndpointSlice":
		return endpointSlicePrinter(), true
	case "policy/PodDisruptionBudget":
		return podDisruptionBudgetPrinter(), true
	case "scheduling.k8s.io/PriorityClass":
		return priorityClassPrinter(), true
	case "autoscaling/HorizontalPodAutoscaler":
		return horizontalPodAutoscalerPrinter(), true
	case "storage.k8s.io/StorageClass":
		return storageClassPrinter(""), true
	}
	return Printer{}, false
}

func leasePrinter() Printer {
	return Printer{
		Columns: cols(nameColumn(), str("Holder", coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]), ageColumn()),
		Cells: simpleCells(func(l *coordinationv1.Lease, now time.Time) []interface{} {
			holder := ""
			if l.Spec.HolderIdentity != nil {
				holder = *l.Spec.HolderIdentity
			}
			return []interface{}{l.Name, holder, age(l.CreationTimestamp, now)}
		}),
	}
}

func endpointSlicePrinter() Printer {
	doc := discoveryv1.EndpointSlice{}.SwaggerDoc()
	return Printer{
		Columns: cols(nameColumn(),
			str("AddressType", doc["addressType"]),
			str("Ports", doc["ports"]),
			str("Endpoints", doc["endpoints"]),
			ageColumn()),
		Cells: simpleCells(func(es *discoveryv1.EndpointSlice, now time.Time) []interface{} {
			return []interface{}{es.Name, string(es.AddressType), slicePorts(es.Ports), sliceAddresses(es.Endpoints), age(es.CreationTimestamp, now)}
		}),
	}
}

// slicePorts lists up to three ports by number (else name, else "*"), or <unset>.
func slicePorts(ports []discoveryv1.EndpointPort) string {
	list := make([]string, 0, len(ports))
	for _, p := range ports {
		switch {
		case p.Port != nil:
			list = append(list, strconv.Itoa(int(*p.Port)))
		case p.Name != nil:
			list = append(list, *p.Name)
		default:
			list = append(list, "*")
		}
	}
	return listWithMore(list, len(list), 3, unset)
}

// sliceAddresses lists up to three endpoint addresses, or <unset>.
func sliceAddresses(endpoints []discoveryv1.Endpoint) string {
	var list []string
	for _, e := range endpoints {
		list = append(list, e.Addresses...)
	}
	return listWithMore(list, len(list), 3, unset)
}

func podDisruptionBudgetPrinter() Printer {
	return Printer{
		Columns: cols(nameColumn(),
			str("Min Available", "The minimum number of pods that must be available."),
			str("Max Unavailable", "The maximum number of pods that may be unavailable."),
			integer("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time."),
			ageColumn()),
		Cells: simpleCells(func(pdb *policyv1.PodDisruptionBudget, now time.Time) []interface{} {
			minAvailable, maxUnavailable := "N/A", "N/A"
			if pdb.Spec.MinAvailable != nil {
				minAvailable = pdb.Spec.MinAvailable.String()
			}
			if pdb.Spec.MaxUnavailable != nil {
				maxUnavailable = pdb.Spec.MaxUnavailable.String()
			}
			return []interface{}{pdb.Name, minAvailable, maxUnavailable, int64(pdb.Status.DisruptionsAllowed), age(pdb.CreationTimestamp, now)}
		}),
	}
}

func priorityClassPrinter() Printer {
	doc := schedulingv1.PriorityClass{}.SwaggerDoc()
	return Printer{
		Columns: cols(nameColumn(),
			integer("Value", doc["value"]),
			boolean("Global-Default", doc["globalDefault"]),
			ageColumn(),
			str("PreemptionPolicy", doc["preemptionPolicy"])),
		Cells: simpleCells(func(pc *schedulingv1.PriorityClass, now time.Time) []interface{} {
			policy := ""
			if pc.PreemptionPolicy != nil {
				policy = string(*pc.PreemptionPolicy)
			}
			return []interface{}{pc.Name, int64(pc.Value), pc.GlobalDefault, age(pc.CreationTimestamp, now), policy}
		}),
	}
}

// joinComma joins with ", ".
func joinComma(list []string) string { return strings.Join(list, ", ") }
