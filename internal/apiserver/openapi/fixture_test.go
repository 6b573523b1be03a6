package openapi

import (
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
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

var allVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

// res is a fixture builder for one served resource.
func res(group, version, kind, plural string, namespaced bool, obj, list runtime.Object, subs ...string) Resource {
	return Resource{
		GVK:          schema.GroupVersionKind{Group: group, Version: version, Kind: kind},
		Resource:     plural,
		Namespaced:   namespaced,
		Verbs:        allVerbs,
		Subresources: subs,
		Object:       obj,
		List:         list,
	}
}

// testResources is roughly the set of resources klite serves.
func testResources() []Resource {
	return []Resource{
		res("", "v1", "Pod", "pods", true, &corev1.Pod{}, &corev1.PodList{}, "status", "binding", "eviction", "log", "exec", "attach", "portforward", "ephemeralcontainers"),
		res("", "v1", "Service", "services", true, &corev1.Service{}, &corev1.ServiceList{}, "status", "proxy"),
		res("", "v1", "Node", "nodes", false, &corev1.Node{}, &corev1.NodeList{}, "status", "proxy"),
		res("", "v1", "Namespace", "namespaces", false, &corev1.Namespace{}, &corev1.NamespaceList{}, "status", "finalize"),
		res("", "v1", "ConfigMap", "configmaps", true, &corev1.ConfigMap{}, &corev1.ConfigMapList{}),
		res("", "v1", "Secret", "secrets", true, &corev1.Secret{}, &corev1.SecretList{}),
		res("", "v1", "Endpoints", "endpoints", true, &corev1.Endpoints{}, &corev1.EndpointsList{}),
		res("", "v1", "Event", "events", true, &corev1.Event{}, &corev1.EventList{}),
		res("", "v1", "ServiceAccount", "serviceaccounts", true, &corev1.ServiceAccount{}, &corev1.ServiceAccountList{}, "token"),
		res("", "v1", "PersistentVolume", "persistentvolumes", false, &corev1.PersistentVolume{}, &corev1.PersistentVolumeList{}, "status"),
		res("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true, &corev1.PersistentVolumeClaim{}, &corev1.PersistentVolumeClaimList{}, "status"),
		res("", "v1", "ReplicationController", "replicationcontrollers", true, &corev1.ReplicationController{}, &corev1.ReplicationControllerList{}, "status", "scale"),
		res("", "v1", "ResourceQuota", "resourcequotas", true, &corev1.ResourceQuota{}, &corev1.ResourceQuotaList{}, "status"),
		res("", "v1", "LimitRange", "limitranges", true, &corev1.LimitRange{}, &corev1.LimitRangeList{}),
		res("", "v1", "PodTemplate", "podtemplates", true, &corev1.PodTemplate{}, &corev1.PodTemplateList{}),
		res("apps", "v1", "Deployment", "deployments", true, &appsv1.Deployment{}, &appsv1.DeploymentList{}, "status", "scale"),
		res("apps", "v1", "ReplicaSet", "replicasets", true, &appsv1.ReplicaSet{}, &appsv1.ReplicaSetList{}, "status", "scale"),
		res("apps", "v1", "StatefulSet", "statefulsets", true, &appsv1.StatefulSet{}, &appsv1.StatefulSetList{}, "status", "scale"),
		res("apps", "v1", "DaemonSet", "daemonsets", true, &appsv1.DaemonSet{}, &appsv1.DaemonSetList{}, "status"),
		res("apps", "v1", "ControllerRevision", "controllerrevisions", true, &appsv1.ControllerRevision{}, &appsv1.ControllerRevisionList{}),
		res("batch", "v1", "Job", "jobs", true, &batchv1.Job{}, &batchv1.JobList{}, "status"),
		res("batch", "v1", "CronJob", "cronjobs", true, &batchv1.CronJob{}, &batchv1.CronJobList{}, "status"),
		res("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true, &autoscalingv2.HorizontalPodAutoscaler{}, &autoscalingv2.HorizontalPodAutoscalerList{}, "status"),
		res("coordination.k8s.io", "v1", "Lease", "leases", true, &coordinationv1.Lease{}, &coordinationv1.LeaseList{}),
		res("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", true, &discoveryv1.EndpointSlice{}, &discoveryv1.EndpointSliceList{}),
		res("events.k8s.io", "v1", "Event", "events", true, &eventsv1.Event{}, &eventsv1.EventList{}),
		res("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true, &networkingv1.NetworkPolicy{}, &networkingv1.NetworkPolicyList{}),
		res("networking.k8s.io", "v1", "Ingress", "ingresses", true, &networkingv1.Ingress{}, &networkingv1.IngressList{}, "status"),
		res("networking.k8s.io", "v1", "IngressClass", "ingressclasses", false, &networkingv1.IngressClass{}, &networkingv1.IngressClassList{}),
		res("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", true, &policyv1.PodDisruptionBudget{}, &policyv1.PodDisruptionBudgetList{}, "status"),
		res("rbac.authorization.k8s.io", "v1", "Role", "roles", true, &rbacv1.Role{}, &rbacv1.RoleList{}),
		res("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", true, &rbacv1.RoleBinding{}, &rbacv1.RoleBindingList{}),
		res("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false, &rbacv1.ClusterRole{}, &rbacv1.ClusterRoleList{}),
		res("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", false, &rbacv1.ClusterRoleBinding{}, &rbacv1.ClusterRoleBindingList{}),
		res("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", false, &schedulingv1.PriorityClass{}, &schedulingv1.PriorityClassList{}),
		res("storage.k8s.io", "v1", "StorageClass", "storageclasses", false, &storagev1.StorageClass{}, &storagev1.StorageClassList{}),
		res("storage.k8s.io", "v1", "VolumeAttachment", "volumeattachments", false, &storagev1.VolumeAttachment{}, &storagev1.VolumeAttachmentList{}, "status"),
		res("storage.k8s.io", "v1", "CSIDriver", "csidrivers", false, &storagev1.CSIDriver{}, &storagev1.CSIDriverList{}),
		res("storage.k8s.io", "v1", "CSINode", "csinodes", false, &storagev1.CSINode{}, &storagev1.CSINodeList{}),
		res("certificates.k8s.io", "v1", "CertificateSigningRequest", "certificatesigningrequests", false, &certificatesv1.CertificateSigningRequest{}, &certificatesv1.CertificateSigningRequestList{}, "status", "approval"),
	}
}
