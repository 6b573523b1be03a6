package defaults

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Apply sets upstream's defaults on obj in place. obj is a pointer to a typed
// k8s.io/api object; kinds without defaults (and unknown kinds) are left as is.
func Apply(obj runtime.Object) {
	switch o := obj.(type) {
	case *corev1.Pod:
		setPod(o)
	case *corev1.PodTemplate:
		setPodTemplateSpec(&o.Template)
	case *corev1.ReplicationController:
		setReplicationController(o)
	case *corev1.Service:
		setService(o)
	case *corev1.Endpoints:
		setEndpoints(o)
	case *corev1.Namespace:
		setNamespace(o)
	case *corev1.Node:
		setNode(o)
	case *corev1.Secret:
		setSecret(o)
	case *corev1.PersistentVolume:
		setPersistentVolume(o)
	case *corev1.PersistentVolumeClaim:
		setPersistentVolumeClaim(o)
	case *corev1.LimitRange:
		for i := range o.Spec.Limits {
			setLimitRangeItem(&o.Spec.Limits[i])
		}
	default:
		applyGroups(obj)
	}
}

// applyGroups handles the kinds outside the core group.
func applyGroups(obj runtime.Object) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		setDeployment(o)
	case *appsv1.ReplicaSet:
		setReplicaSet(o)
	case *appsv1.StatefulSet:
		setStatefulSet(o)
	case *appsv1.DaemonSet:
		setDaemonSet(o)
	case *batchv1.Job:
		setJob(o)
	case *batchv1.CronJob:
		setCronJob(o)
	case *discoveryv1.EndpointSlice:
		setEndpointSlice(o)
	case *rbacv1.RoleBinding:
		setRoleRef(&o.RoleRef)
		setSubjects(o.Subjects)
	case *rbacv1.ClusterRoleBinding:
		setRoleRef(&o.RoleRef)
		setSubjects(o.Subjects)
	case *storagev1.StorageClass:
		setStorageClass(o)
	case *schedulingv1.PriorityClass:
		if o.PreemptionPolicy == nil {
			o.PreemptionPolicy = ptr(corev1.PreemptLowerPriority)
		}
	}
}

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }
