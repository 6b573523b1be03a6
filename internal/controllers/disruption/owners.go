package disruption

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// owners finds the scale of the controllers budgets count: ReplicationControllers,
// ReplicaSets, StatefulSets, and Deployments through the ReplicaSets they control.
type owners struct {
	rcs          corelisters.ReplicationControllerLister
	rss          appslisters.ReplicaSetLister
	deployments  appslisters.DeploymentLister
	statefulSets appslisters.StatefulSetLister
}

// scale is a scaleFunc over the listers. A ReplicaSet controlled by a Deployment resolves to the
// Deployment, so that the old and new sets of a rollout count its replicas once.
func (o owners) scale(ns string, ref *metav1.OwnerReference) (types.UID, int32, bool) {
	switch {
	case isKind(ref, "", "ReplicationController"):
		rc, err := o.rcs.ReplicationControllers(ns).Get(ref.Name)
		if err != nil || rc.UID != ref.UID {
			return "", 0, false
		}
		return rc.UID, desired(rc.Spec.Replicas), true
	case isKind(ref, "apps", "StatefulSet"):
		ss, err := o.statefulSets.StatefulSets(ns).Get(ref.Name)
		if err != nil || ss.UID != ref.UID {
			return "", 0, false
		}
		return ss.UID, desired(ss.Spec.Replicas), true
	case isKind(ref, "apps", "ReplicaSet") || isKind(ref, "extensions", "ReplicaSet"):
		return o.replicaSetScale(ns, ref)
	}
	return "", 0, false
}

func (o owners) replicaSetScale(ns string, ref *metav1.OwnerReference) (types.UID, int32, bool) {
	rs, err := o.rss.ReplicaSets(ns).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return "", 0, false
	}
	dref := metav1.GetControllerOfNoCopy(rs)
	if dref == nil || dref.Kind != "Deployment" {
		return rs.UID, desired(rs.Spec.Replicas), true
	}
	if !isKind(dref, "apps", "Deployment") && !isKind(dref, "extensions", "Deployment") {
		return "", 0, false
	}
	d, err := o.deployments.Deployments(ns).Get(dref.Name)
	if err != nil || d.UID != dref.UID {
		return "", 0, false
	}
	return d.UID, desired(d.Spec.Replicas), true
}

// isKind reports whether ref names kind in group (any version).
func isKind(ref *metav1.OwnerReference, group, kind string) bool {
	if ref.Kind != kind {
		return false
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	return err == nil && gv.Group == group
}

// desired is spec.replicas, which defaults to 1.
func desired(n *int32) int32 {
	if n == nil {
		return 1
	}
	return *n
}

// replicas is the spec.replicas of a controller object (-1 for anything else), to tell a
// rescale from other updates.
func replicas(obj any) int32 {
	switch o := obj.(type) {
	case *corev1.ReplicationController:
		return desired(o.Spec.Replicas)
	case *appsv1.ReplicaSet:
		return desired(o.Spec.Replicas)
	case *appsv1.Deployment:
		return desired(o.Spec.Replicas)
	case *appsv1.StatefulSet:
		return desired(o.Spec.Replicas)
	}
	return -1
}
