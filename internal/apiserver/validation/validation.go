package validation

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// operation is the kind of write being validated.
type operation int

const (
	opCreate operation = iota
	opUpdate
	opStatus
)

// ValidateCreate validates a new, already defaulted object, metadata
// included. metadata.name must already be set (generateName is resolved by
// the caller).
func ValidateCreate(obj runtime.Object) field.ErrorList {
	return dispatch(opCreate, obj, nil)
}

// ValidateUpdate validates obj replacing old (same kind): everything
// ValidateCreate checks on obj plus the fields an update may not change.
func ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return dispatch(opUpdate, obj, old)
}

// ValidateStatusUpdate validates a write to the status subresource of old.
func ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return dispatch(opStatus, obj, old)
}

func dispatch(op operation, obj, old runtime.Object) field.ErrorList {
	switch o := obj.(type) {
	case *corev1.Pod:
		return check(op, podRules(), o, old)
	case *corev1.Node:
		return check(op, nodeRules(), o, old)
	case *corev1.Namespace:
		return check(op, namespaceRules(), o, old)
	case *corev1.Service:
		if op == opUpdate {
			o = serviceAfterUpdateStrategy(o, old)
		}
		return check(op, serviceRules(), o, old)
	case *corev1.Endpoints:
		return check(op, endpointsRules(), o, old)
	case *corev1.ConfigMap:
		return check(op, configMapRules(), o, old)
	case *corev1.Secret:
		return check(op, secretRules(), o, old)
	case *corev1.ServiceAccount:
		return check(op, serviceAccountRules(), o, old)
	case *corev1.Event:
		return check(op, coreEventRules(), o, old)
	case *corev1.PersistentVolume:
		return check(op, persistentVolumeRules(), o, old)
	case *corev1.PersistentVolumeClaim:
		return check(op, persistentVolumeClaimRules(), o, old)
	case *corev1.ReplicationController:
		return check(op, replicationControllerRules(), o, old)
	case *corev1.LimitRange:
		return check(op, limitRangeRules(), o, old)
	case *corev1.ResourceQuota:
		return check(op, resourceQuotaRules(), o, old)
	case *corev1.PodTemplate:
		return check(op, podTemplateRules(), o, old)
	}
	return dispatchGroups(op, obj, old)
}

func dispatchGroups(op operation, obj, old runtime.Object) field.ErrorList {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return check(op, deploymentRules(), o, old)
	case *appsv1.ReplicaSet:
		return check(op, replicaSetRules(), o, old)
	case *appsv1.StatefulSet:
		return check(op, statefulSetRules(), o, old)
	case *appsv1.DaemonSet:
		return check(op, daemonSetRules(), o, old)
	case *appsv1.ControllerRevision:
		return check(op, controllerRevisionRules(), o, old)
	case *batchv1.Job:
		return check(op, jobRules(), o, old)
	case *batchv1.CronJob:
		return check(op, cronJobRules(), o, old)
	case *coordinationv1.Lease:
		return check(op, leaseRules(), o, old)
	case *discoveryv1.EndpointSlice:
		return check(op, endpointSliceRules(), o, old)
	}
	return dispatchMoreGroups(op, obj, old)
}

func dispatchMoreGroups(op operation, obj, old runtime.Object) field.ErrorList {
	switch o := obj.(type) {
	case *rbacv1.Role:
		return check(op, roleRules(), o, old)
	case *rbacv1.ClusterRole:
		return check(op, clusterRoleRules(), o, old)
	case *rbacv1.RoleBinding:
		return check(op, roleBindingRules(), o, old)
	case *rbacv1.ClusterRoleBinding:
		return check(op, clusterRoleBindingRules(), o, old)
	case *storagev1.StorageClass:
		return check(op, storageClassRules(), o, old)
	case *eventsv1.Event:
		return check(op, eventsEventRules(), o, old)
	case *policyv1.PodDisruptionBudget:
		return check(op, podDisruptionBudgetRules(), o, old)
	case *schedulingv1.PriorityClass:
		return check(op, priorityClassRules(), o, old)
	}
	return checkUnknown(op, obj, old)
}

// typeMismatch reports an update whose old object is of another kind.
func typeMismatch(obj, old runtime.Object) field.ErrorList {
	return field.ErrorList{field.InternalError(nil, fmt.Errorf("cannot validate %T against old %T", obj, old))}
}
