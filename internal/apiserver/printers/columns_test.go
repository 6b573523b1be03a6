package printers

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// describeColumns writes columns as "Name:type/format" separated by " | ", with a
// trailing "*" on the columns that only `-o wide` shows.
func describeColumns(cols []metav1.TableColumnDefinition) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c.Name + ":" + c.Type
		if c.Format != "" {
			parts[i] += "/" + c.Format
		}
		if c.Priority == 1 {
			parts[i] += "*"
		}
	}
	return strings.Join(parts, " | ")
}

// TestColumns checks every kind's column names, types, formats and priorities
// against upstream kube-apiserver's.
func TestColumns(t *testing.T) {
	const name, age = "Name:string/name", "Age:string"
	const templ = "Containers:string* | Images:string*"
	tests := []struct {
		group, kind string
		want        string
	}{
		{"", "Pod", name + " | Ready:string | Status:string | Restarts:string | " + age + " | IP:string* | Node:string* | Nominated Node:string* | Readiness Gates:string*"},
		{"", "PodTemplate", name + " | Containers:string | Images:string | Pod Labels:string"},
		{"", "ReplicationController", name + " | Desired:integer | Current:integer | Ready:integer | " + age + " | " + templ + " | Selector:string*"},
		{"", "Service", name + " | Type:string | Cluster-IP:string | External-IP:string | Port(s):string | " + age + " | Selector:string*"},
		{"", "Endpoints", name + " | Endpoints:string | " + age},
		{"", "Node", name + " | Status:string | Roles:string | " + age + " | Version:string | Internal-IP:string* | External-IP:string* | OS-Image:string* | Kernel-Version:string* | Container-Runtime:string*"},
		{"", "Event", "Last Seen:string | Type:string | Reason:string | Object:string | Subobject:string* | Source:string* | Message:string | First Seen:string* | Count:string* | Name:string/name*"},
		{"events.k8s.io", "Event", "Last Seen:string | Type:string | Reason:string | Object:string | Subobject:string* | Source:string* | Message:string | First Seen:string* | Count:string* | Name:string/name*"},
		{"", "Namespace", name + " | Status:string | " + age},
		{"", "Secret", name + " | Type:string | Data:string | " + age},
		{"", "ServiceAccount", name + " | " + age},
		{"", "ConfigMap", name + " | Data:string | " + age},
		{"", "PersistentVolume", name + " | Capacity:string | Access Modes:string | Reclaim Policy:string | Status:string | Claim:string | StorageClass:string | VolumeAttributesClass:string | Reason:string | " + age + " | VolumeMode:string*"},
		{"", "PersistentVolumeClaim", name + " | Status:string | Volume:string | Capacity:string | Access Modes:string | StorageClass:string | VolumeAttributesClass:string | " + age + " | VolumeMode:string*"},
		{"", "ResourceQuota", name + " | Request:string | Limit:string | " + age},
		{"", "LimitRange", name + " | Created At:date"},
		{"apps", "Deployment", name + " | Ready:string | Up-to-date:string | Available:string | " + age + " | " + templ + " | Selector:string*"},
		{"apps", "ReplicaSet", name + " | Desired:integer | Current:integer | Ready:integer | " + age + " | " + templ + " | Selector:string*"},
		{"apps", "StatefulSet", name + " | Ready:string | " + age + " | " + templ},
		{"apps", "DaemonSet", name + " | Desired:integer | Current:integer | Ready:integer | Up-to-date:integer | Available:integer | Node Selector:string | " + age + " | " + templ + " | Selector:string*"},
		{"apps", "ControllerRevision", name + " | Controller:string | Revision:string | " + age},
		{"batch", "Job", name + " | Status:string | Completions:string | Duration:string | " + age + " | " + templ + " | Selector:string*"},
		{"batch", "CronJob", name + " | Schedule:string | Timezone:string | Suspend:boolean | Active:integer | Last Schedule:string | " + age + " | " + templ + " | Selector:string*"},
		{"coordination.k8s.io", "Lease", name + " | Holder:string | " + age},
		{"discovery.k8s.io", "EndpointSlice", name + " | AddressType:string | Ports:string | Endpoints:string | " + age},
		{"rbac.authorization.k8s.io", "Role", name + " | Created At:date"},
		{"rbac.authorization.k8s.io", "ClusterRole", name + " | Created At:date"},
		{"rbac.authorization.k8s.io", "RoleBinding", name + " | Role:string | " + age + " | Users:string* | Groups:string* | ServiceAccounts:string*"},
		{"rbac.authorization.k8s.io", "ClusterRoleBinding", name + " | Role:string | " + age + " | Users:string* | Groups:string* | ServiceAccounts:string*"},
		{"storage.k8s.io", "StorageClass", name + " | Provisioner:string | ReclaimPolicy:string | VolumeBindingMode:string | AllowVolumeExpansion:string | " + age},
		{"policy", "PodDisruptionBudget", name + " | Min Available:string | Max Unavailable:string | Allowed Disruptions:integer | " + age},
		{"scheduling.k8s.io", "PriorityClass", name + " | Value:integer | Global-Default:boolean | " + age + " | PreemptionPolicy:string"},
		{"networking.k8s.io", "Ingress", name + " | Class:string | Hosts:string | Address:string | Ports:string | " + age},
		{"networking.k8s.io", "IngressClass", name + " | Controller:string | Parameters:string | " + age},
		{"networking.k8s.io", "NetworkPolicy", name + " | Pod-Selector:string | " + age},
		{"autoscaling", "HorizontalPodAutoscaler", name + " | Reference:string | Targets:string | MinPods:string | MaxPods:string | Replicas:string | " + age},
		{"admissionregistration.k8s.io", "ValidatingWebhookConfiguration", name + " | Created At:date"},
		{"example.com", "Widget", name + " | Created At:date"},
		{"", "Widget", name + " | Created At:date"},
	}
	for _, tt := range tests {
		t.Run(tt.group+"/"+tt.kind, func(t *testing.T) {
			cols := For(schema.GroupKind{Group: tt.group, Kind: tt.kind}).Columns
			if got := describeColumns(cols); got != tt.want {
				t.Errorf("columns:\n got %s\nwant %s", got, tt.want)
			}
			for _, c := range cols {
				if c.Description == "" {
					t.Errorf("column %q has no description", c.Name)
				}
			}
		})
	}
}
