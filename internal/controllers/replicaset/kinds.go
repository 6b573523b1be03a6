package replicaset

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// workload is the kind a controller manages, seen as a ReplicaSet: a ReplicationController is
// converted on read (its map selector becomes matchLabels) and its status written back as its own.
type workload interface {
	apiVersion() string
	kind() string
	get(ns, name string) (*appsv1.ReplicaSet, runtime.Object, error)
	list(ns string) ([]*appsv1.ReplicaSet, error)
	updateStatus(ctx context.Context, orig runtime.Object, st appsv1.ReplicaSetStatus) error
}

type replicaSets struct {
	client kubernetes.Interface
	lister appslisters.ReplicaSetLister
}

func (replicaSets) apiVersion() string { return "apps/v1" }
func (replicaSets) kind() string       { return "ReplicaSet" }

func (r replicaSets) get(ns, name string) (*appsv1.ReplicaSet, runtime.Object, error) {
	rs, err := r.lister.ReplicaSets(ns).Get(name)
	return rs, rs, err
}

func (r replicaSets) list(ns string) ([]*appsv1.ReplicaSet, error) {
	return r.lister.ReplicaSets(ns).List(labels.Everything())
}

func (r replicaSets) updateStatus(ctx context.Context, orig runtime.Object, st appsv1.ReplicaSetStatus) error {
	rs := orig.(*appsv1.ReplicaSet).DeepCopy()
	rs.Status = st
	_, err := r.client.AppsV1().ReplicaSets(rs.Namespace).UpdateStatus(ctx, rs, metav1.UpdateOptions{})
	return err
}

type replicationControllers struct {
	client kubernetes.Interface
	lister corelisters.ReplicationControllerLister
}

func (replicationControllers) apiVersion() string { return "v1" }
func (replicationControllers) kind() string       { return "ReplicationController" }

func (r replicationControllers) get(ns, name string) (*appsv1.ReplicaSet, runtime.Object, error) {
	rc, err := r.lister.ReplicationControllers(ns).Get(name)
	if err != nil {
		return nil, nil, err
	}
	return fromRC(rc), rc, nil
}

func (r replicationControllers) list(ns string) ([]*appsv1.ReplicaSet, error) {
	rcs, err := r.lister.ReplicationControllers(ns).List(labels.Everything())
	out := make([]*appsv1.ReplicaSet, len(rcs))
	for i, rc := range rcs {
		out[i] = fromRC(rc)
	}
	return out, err
}

func (r replicationControllers) updateStatus(ctx context.Context, orig runtime.Object, st appsv1.ReplicaSetStatus) error {
	rc := orig.(*corev1.ReplicationController).DeepCopy()
	rc.Status = corev1.ReplicationControllerStatus{
		Replicas: st.Replicas, FullyLabeledReplicas: st.FullyLabeledReplicas, ReadyReplicas: st.ReadyReplicas,
		AvailableReplicas: st.AvailableReplicas, ObservedGeneration: st.ObservedGeneration,
	}
	for _, c := range st.Conditions {
		rc.Status.Conditions = append(rc.Status.Conditions, corev1.ReplicationControllerCondition{
			Type: corev1.ReplicationControllerConditionType(c.Type), Status: c.Status, Reason: c.Reason, Message: c.Message, LastTransitionTime: c.LastTransitionTime,
		})
	}
	_, err := r.client.CoreV1().ReplicationControllers(rc.Namespace).UpdateStatus(ctx, rc, metav1.UpdateOptions{})
	return err
}

// fromRC views a ReplicationController as a ReplicaSet.
func fromRC(rc *corev1.ReplicationController) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{ObjectMeta: rc.ObjectMeta, Spec: appsv1.ReplicaSetSpec{
		Replicas: rc.Spec.Replicas, MinReadySeconds: rc.Spec.MinReadySeconds,
	}}
	sel := rc.Spec.Selector
	if len(sel) == 0 && rc.Spec.Template != nil {
		sel = rc.Spec.Template.Labels
	}
	rs.Spec.Selector = &metav1.LabelSelector{MatchLabels: sel}
	if rc.Spec.Template != nil {
		rs.Spec.Template = *rc.Spec.Template
	}
	rs.Status = appsv1.ReplicaSetStatus{
		Replicas: rc.Status.Replicas, FullyLabeledReplicas: rc.Status.FullyLabeledReplicas, ReadyReplicas: rc.Status.ReadyReplicas,
		AvailableReplicas: rc.Status.AvailableReplicas, ObservedGeneration: rc.Status.ObservedGeneration,
	}
	for _, c := range rc.Status.Conditions {
		rs.Status.Conditions = append(rs.Status.Conditions, appsv1.ReplicaSetCondition{
			Type: appsv1.ReplicaSetConditionType(c.Type), Status: c.Status, Reason: c.Reason, Message: c.Message, LastTransitionTime: c.LastTransitionTime,
		})
	}
	return rs
}
