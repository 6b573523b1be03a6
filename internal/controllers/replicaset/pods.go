package replicaset

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

// ownerKey is the key of the controller of pod when it is of our kind.
func (c *Controller) ownerKey(pod *corev1.Pod) (string, bool) {
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil || ref.Kind != c.kind.kind() || ref.APIVersion != c.kind.apiVersion() {
		return "", false
	}
	rs, _, err := c.kind.get(pod.Namespace, ref.Name)
	if err != nil || rs.UID != ref.UID {
		return "", false
	}
	return pod.Namespace + "/" + ref.Name, true
}

// enqueueMatching queues every controller whose selector matches an orphan pod (adoption).
func (c *Controller) enqueueMatching(pod *corev1.Pod) {
	list, err := c.kind.list(pod.Namespace)
	if err != nil {
		return
	}
	for _, rs := range list {
		sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(pod.Labels)) {
			c.loop.EnqueueKey(rs.Namespace + "/" + rs.Name)
		}
	}
}

func (c *Controller) podAdded(obj any) {
	pod := obj.(*corev1.Pod)
	if key, ok := c.ownerKey(pod); ok {
		if pod.DeletionTimestamp != nil {
			c.exp.DeletionObserved(key, pod.UID)
		} else {
			c.exp.CreationObserved(key)
		}
		c.loop.EnqueueKey(key)
		return
	}
	if metav1.GetControllerOfNoCopy(pod) == nil {
		c.enqueueMatching(pod)
	}
}

func (c *Controller) podUpdated(oldObj, newObj any) {
	old, pod := oldObj.(*corev1.Pod), newObj.(*corev1.Pod)
	if old.ResourceVersion == pod.ResourceVersion {
		return
	}
	if oldKey, ok := c.ownerKey(old); ok {
		if pod.DeletionTimestamp != nil {
			c.exp.DeletionObserved(oldKey, pod.UID)
		}
		c.loop.EnqueueKey(oldKey)
	}
	if key, ok := c.ownerKey(pod); ok {
		if pod.DeletionTimestamp != nil {
			c.exp.DeletionObserved(key, pod.UID)
		}
		c.loop.EnqueueKey(key)
		return
	}
	if metav1.GetControllerOfNoCopy(pod) == nil {
		c.enqueueMatching(pod)
	}
}

func (c *Controller) podDeleted(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if key, ok := c.ownerKey(pod); ok {
		c.exp.DeletionObserved(key, pod.UID)
		c.loop.EnqueueKey(key)
	}
}

// newPod is a pod from rs's template, controlled by rs.
func (c *Controller) newPod(rs *appsv1.ReplicaSet) *corev1.Pod {
	t := rs.Spec.Template.DeepCopy()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: rs.Name + "-", Namespace: rs.Namespace, Labels: t.Labels, Annotations: t.Annotations, Finalizers: t.Finalizers,
		},
		Spec: t.Spec,
	}
	ref := metav1.OwnerReference{APIVersion: c.kind.apiVersion(), Kind: c.kind.kind(), Name: rs.Name, UID: rs.UID}
	yes := true
	ref.Controller, ref.BlockOwnerDeletion = &yes, &yes
	pod.OwnerReferences = []metav1.OwnerReference{ref}
	return pod
}
