package usage

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func list(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func ctr(name string, req, lim corev1.ResourceList) corev1.Container {
	return corev1.Container{Name: name, Resources: corev1.ResourceRequirements{Requests: req, Limits: lim}}
}

func TestOf(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	sidecar := ctr("sidecar", list("cpu", "100m"), nil)
	sidecar.RestartPolicy = &always
	class := "fast"
	noLBPorts := false
	core := func(r string) schema.GroupResource { return schema.GroupResource{Resource: r} }
	tests := []struct {
		name string
		gr   schema.GroupResource
		obj  runtime.Object
		want corev1.ResourceList
	}{
		{"pod: containers add up, an init container may need more", core("pods"), &corev1.Pod{Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{ctr("init", list("cpu", "3", "memory", "1Mi"), nil)},
			Containers:     []corev1.Container{ctr("a", list("cpu", "1", "memory", "1Gi"), list("memory", "2Gi")), ctr("b", list("cpu", "500m"), nil)}}},
			list("pods", "1", "count/pods", "1", "cpu", "3", "requests.cpu", "3", "memory", "1Gi", "requests.memory", "1Gi", "limits.memory", "2Gi")},
		{"pod: sidecars run alongside", core("pods"), &corev1.Pod{Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{sidecar, ctr("init", list("cpu", "1"), nil)},
			Containers:     []corev1.Container{ctr("a", list("cpu", "1"), nil)}}},
			list("pods", "1", "count/pods", "1", "cpu", "1100m", "requests.cpu", "1100m")},
		{"finished pod uses nothing", core("pods"), &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodSucceeded}}, list()},
		{"node port service: one per port", core("services"), &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: make([]corev1.ServicePort, 2)}},
			list("services", "1", "count/services", "1", "services.nodeports", "2")},
		{"load balancer without node ports", core("services"), &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: make([]corev1.ServicePort, 2), AllocateLoadBalancerNodePorts: &noLBPorts}},
			list("services", "1", "count/services", "1", "services.loadbalancers", "1", "services.nodeports", "0")},
		{"claim of a class", core("persistentvolumeclaims"), &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &class,
			Resources: corev1.VolumeResourceRequirements{Requests: list("storage", "5Gi")}}},
			list("persistentvolumeclaims", "1", "count/persistentvolumeclaims", "1", "requests.storage", "5Gi",
				"fast.storageclass.storage.k8s.io/requests.storage", "5Gi", "fast.storageclass.storage.k8s.io/persistentvolumeclaims", "1")},
		{"any other resource is counted", schema.GroupResource{Group: "apps", Resource: "deployments"}, &corev1.Pod{}, list("count/deployments.apps", "1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Of(tt.gr, tt.obj)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if g, ok := got[k]; !ok || g.Cmp(v) != 0 {
					t.Errorf("%s = %s, want %s", k, g.String(), v.String())
				}
			}
		})
	}
}

func TestMatches(t *testing.T) {
	deadline := int64(30)
	besteffort := &corev1.Pod{}
	burstable := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{ctr("a", list("cpu", "1"), nil)}, ActiveDeadlineSeconds: &deadline, PriorityClassName: "high"}}
	scoped := func(scopes ...corev1.ResourceQuotaScope) *corev1.ResourceQuota {
		return &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Scopes: scopes}}
	}
	priority := func(op corev1.ScopeSelectorOperator, values ...string) *corev1.ResourceQuota {
		return &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{ScopeSelector: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
			{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: op, Values: values}}}}}
	}
	tests := []struct {
		name string
		q    *corev1.ResourceQuota
		obj  runtime.Object
		want bool
	}{
		{"unscoped counts everything", scoped(), &corev1.ConfigMap{}, true},
		{"scoped counts pods only", scoped(corev1.ResourceQuotaScopeNotTerminating), &corev1.ConfigMap{}, false},
		{"best effort", scoped(corev1.ResourceQuotaScopeBestEffort), besteffort, true},
		{"not best effort", scoped(corev1.ResourceQuotaScopeBestEffort), burstable, false},
		{"terminating", scoped(corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotBestEffort), burstable, true},
		{"not terminating", scoped(corev1.ResourceQuotaScopeNotTerminating), burstable, false},
		{"priority in", priority(corev1.ScopeSelectorOpIn, "high"), burstable, true},
		{"priority not in", priority(corev1.ScopeSelectorOpNotIn, "high"), burstable, false},
		{"priority does not exist", priority(corev1.ScopeSelectorOpDoesNotExist), besteffort, true},
		{"priority exists", priority(corev1.ScopeSelectorOpExists), besteffort, false},
	}
	for _, tt := range tests {
		if got := Matches(tt.q, tt.obj); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestConstraints(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{ctr("init", nil, list("cpu", "1"))},
		Containers:     []corev1.Container{ctr("b", list("cpu", "1"), nil), ctr("a", nil, nil)}}}
	tests := []struct {
		name     string
		required []corev1.ResourceName
		want     string
	}{
		{"nothing required", []corev1.ResourceName{"pods", "requests.storage"}, ""},
		{"requests.cpu", []corev1.ResourceName{"requests.cpu"}, "must specify requests.cpu for: a,init"},
		{"several", []corev1.ResourceName{"limits.cpu", "memory"}, "must specify limits.cpu for: a,b; memory for: a,b,init"},
	}
	for _, tt := range tests {
		err := Constraints(tt.required, pod)
		if got := ""; err != nil {
			got = err.Error()
			if got != tt.want {
				t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
			}
		} else if tt.want != "" {
			t.Errorf("%s: no error, want %q", tt.name, tt.want)
		}
	}
}
