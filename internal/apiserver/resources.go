package apiserver

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// resource describes one served resource: how it is named on the wire, how it is stored and which
// subresources and selectable fields it has. Adding a resource means adding a line to resourceTable
// (and, where it has special write semantics, a hook in hooks.go).
type resource struct {
	gvk        schema.GroupVersionKind
	plural     string
	singular   string
	namespaced bool
	shortNames []string
	categories []string
	// subresources served besides the object itself.
	status, scale, binding, eviction, finalize bool
	// token: serviceaccounts/token (TokenRequest), served by token.go.
	token bool
	// connect: the pod subresources served by the kubelet (log, exec, attach, portforward);
	// proxy: nodes/<name>/proxy.
	connect, proxy bool
	// fields returns the selectable fields beyond metadata.name and metadata.namespace.
	fields func(runtime.Object) map[string]string
	// storage is the resource's etcd key segment (usually plural).
	storage string
	// returnDeleted: DELETE answers with the object rather than a Success Status.
	returnDeleted bool
	// storedAs, when set, stores the resource as another kind (sharing that resource's keys).
	storedAs *storageConversion
}

// storageConversion converts between a served kind and the kind it is stored as.
type storageConversion struct {
	gvk         schema.GroupVersionKind
	toStorage   func(runtime.Object) runtime.Object
	fromStorage func(runtime.Object) runtime.Object
}

func (r *resource) gvr() schema.GroupVersionResource {
	return r.gvk.GroupVersion().WithResource(r.plural)
}
func (r *resource) gr() schema.GroupResource {
	return schema.GroupResource{Group: r.gvk.Group, Resource: r.plural}
}
func (r *resource) listKind() string { return r.gvk.Kind + "List" }

var (
	core      = schema.GroupVersion{Version: "v1"}
	apps      = appsv1.SchemeGroupVersion
	batch     = batchv1.SchemeGroupVersion
	coord     = coordinationv1.SchemeGroupVersion
	disc      = discoveryv1.SchemeGroupVersion
	rbac      = rbacv1.SchemeGroupVersion
	storageGV = storagev1.SchemeGroupVersion
	eventsGV  = eventsv1.SchemeGroupVersion
	policy    = policyv1.SchemeGroupVersion
	sched     = schedulingv1.SchemeGroupVersion
	netGV     = networkingv1.SchemeGroupVersion
)

func resourceTable() []*resource {
	all := []string{"all"}
	return []*resource{
		{gvk: core.WithKind("Namespace"), plural: "namespaces", shortNames: []string{"ns"}, status: true, finalize: true, fields: namespaceFields},
		{gvk: core.WithKind("Pod"), plural: "pods", namespaced: true, shortNames: []string{"po"}, categories: all, status: true, binding: true, eviction: true, connect: true, fields: podFields, returnDeleted: true},
		{gvk: core.WithKind("Node"), plural: "nodes", shortNames: []string{"no"}, status: true, proxy: true, fields: nodeFields, returnDeleted: true},
		{gvk: core.WithKind("Service"), plural: "services", namespaced: true, shortNames: []string{"svc"}, categories: all, status: true, returnDeleted: true},
		{gvk: core.WithKind("Endpoints"), plural: "endpoints", namespaced: true, shortNames: []string{"ep"}},
		{gvk: core.WithKind("ConfigMap"), plural: "configmaps", namespaced: true, shortNames: []string{"cm"}},
		{gvk: core.WithKind("Secret"), plural: "secrets", namespaced: true, fields: secretFields},
		{gvk: core.WithKind("ServiceAccount"), plural: "serviceaccounts", namespaced: true, shortNames: []string{"sa"}, token: true},
		{gvk: core.WithKind("Event"), plural: "events", namespaced: true, shortNames: []string{"ev"}, fields: coreEventFields},
		{gvk: core.WithKind("PersistentVolume"), plural: "persistentvolumes", shortNames: []string{"pv"}, status: true, fields: pvFields},
		{gvk: core.WithKind("PersistentVolumeClaim"), plural: "persistentvolumeclaims", namespaced: true, shortNames: []string{"pvc"}, status: true},
		{gvk: core.WithKind("ReplicationController"), plural: "replicationcontrollers", namespaced: true, shortNames: []string{"rc"}, categories: all, status: true, scale: true, fields: replicasFields},
		{gvk: core.WithKind("LimitRange"), plural: "limitranges", namespaced: true, shortNames: []string{"limits"}},
		{gvk: core.WithKind("ResourceQuota"), plural: "resourcequotas", namespaced: true, shortNames: []string{"quota"}, status: true},
		{gvk: core.WithKind("PodTemplate"), plural: "podtemplates", namespaced: true},
		{gvk: apps.WithKind("Deployment"), plural: "deployments", namespaced: true, shortNames: []string{"deploy"}, categories: all, status: true, scale: true},
		{gvk: apps.WithKind("ReplicaSet"), plural: "replicasets", namespaced: true, shortNames: []string{"rs"}, categories: all, status: true, scale: true, fields: replicasFields},
		{gvk: apps.WithKind("StatefulSet"), plural: "statefulsets", namespaced: true, shortNames: []string{"sts"}, categories: all, status: true, scale: true},
		{gvk: apps.WithKind("DaemonSet"), plural: "daemonsets", namespaced: true, shortNames: []string{"ds"}, categories: all, status: true},
		{gvk: apps.WithKind("ControllerRevision"), plural: "controllerrevisions", namespaced: true},
		{gvk: batch.WithKind("Job"), plural: "jobs", namespaced: true, categories: all, status: true, fields: jobFields},
		{gvk: batch.WithKind("CronJob"), plural: "cronjobs", namespaced: true, shortNames: []string{"cj"}, categories: all, status: true},
		{gvk: coord.WithKind("Lease"), plural: "leases", namespaced: true},
		{gvk: disc.WithKind("EndpointSlice"), plural: "endpointslices", namespaced: true},
		{gvk: rbac.WithKind("Role"), plural: "roles", namespaced: true},
		{gvk: rbac.WithKind("RoleBinding"), plural: "rolebindings", namespaced: true},
		{gvk: rbac.WithKind("ClusterRole"), plural: "clusterroles"},
		{gvk: rbac.WithKind("ClusterRoleBinding"), plural: "clusterrolebindings"},
		{gvk: storageGV.WithKind("StorageClass"), plural: "storageclasses", shortNames: []string{"sc"}},
		{gvk: storageGV.WithKind("CSINode"), plural: "csinodes"},
		{gvk: storageGV.WithKind("CSIDriver"), plural: "csidrivers"},
		{gvk: storageGV.WithKind("VolumeAttachment"), plural: "volumeattachments", status: true},
		{gvk: eventsGV.WithKind("Event"), plural: "events", namespaced: true, shortNames: []string{"ev"}, fields: eventsV1Fields, storage: "events", storedAs: eventsAsCore},
		{gvk: policy.WithKind("PodDisruptionBudget"), plural: "poddisruptionbudgets", namespaced: true, shortNames: []string{"pdb"}, status: true},
		{gvk: sched.WithKind("PriorityClass"), plural: "priorityclasses", shortNames: []string{"pc"}},
		{gvk: netGV.WithKind("Ingress"), plural: "ingresses", namespaced: true, shortNames: []string{"ing"}, status: true},
		{gvk: netGV.WithKind("IngressClass"), plural: "ingressclasses"},
		{gvk: netGV.WithKind("NetworkPolicy"), plural: "networkpolicies", namespaced: true, shortNames: []string{"netpol"}},
	}
}

func podFields(obj runtime.Object) map[string]string {
	p := obj.(*corev1.Pod)
	return map[string]string{
		"spec.nodeName":            p.Spec.NodeName,
		"spec.schedulerName":       p.Spec.SchedulerName,
		"spec.restartPolicy":       string(p.Spec.RestartPolicy),
		"spec.serviceAccountName":  p.Spec.ServiceAccountName,
		"spec.hostNetwork":         strconv.FormatBool(p.Spec.HostNetwork),
		"status.phase":             string(p.Status.Phase),
		"status.podIP":             p.Status.PodIP,
		"status.nominatedNodeName": p.Status.NominatedNodeName,
	}
}

func nodeFields(obj runtime.Object) map[string]string {
	return map[string]string{"spec.unschedulable": strconv.FormatBool(obj.(*corev1.Node).Spec.Unschedulable)}
}

func namespaceFields(obj runtime.Object) map[string]string {
	return map[string]string{"status.phase": string(obj.(*corev1.Namespace).Status.Phase)}
}

func secretFields(obj runtime.Object) map[string]string {
	return map[string]string{"type": string(obj.(*corev1.Secret).Type)}
}

func pvFields(obj runtime.Object) map[string]string {
	return map[string]string{"name": obj.(*corev1.PersistentVolume).Name}
}

func replicasFields(obj runtime.Object) map[string]string {
	switch o := obj.(type) {
	case *corev1.ReplicationController:
		return map[string]string{"status.replicas": strconv.Itoa(int(o.Status.Replicas))}
	case *appsv1.ReplicaSet:
		return map[string]string{"status.replicas": strconv.Itoa(int(o.Status.Replicas))}
	}
	return nil
}

func jobFields(obj runtime.Object) map[string]string {
	return map[string]string{"status.successful": strconv.Itoa(int(obj.(*batchv1.Job).Status.Succeeded))}
}

func coreEventFields(obj runtime.Object) map[string]string {
	e := obj.(*corev1.Event)
	return map[string]string{
		"involvedObject.kind":            e.InvolvedObject.Kind,
		"involvedObject.namespace":       e.InvolvedObject.Namespace,
		"involvedObject.name":            e.InvolvedObject.Name,
		"involvedObject.uid":             string(e.InvolvedObject.UID),
		"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
		"reason":                         e.Reason,
		"reportingComponent":             e.ReportingController,
		"source":                         e.Source.Component,
		"type":                           e.Type,
	}
}

func eventsV1Fields(obj runtime.Object) map[string]string {
	e := obj.(*eventsv1.Event)
	return map[string]string{
		"regarding.kind":      e.Regarding.Kind,
		"regarding.namespace": e.Regarding.Namespace,
		"regarding.name":      e.Regarding.Name,
		"regarding.uid":       string(e.Regarding.UID),
		"reason":              e.Reason,
		"reportingController": e.ReportingController,
		"type":                e.Type,
	}
}
