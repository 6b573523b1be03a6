package daemonset

import (
	"context"
	"errors"
	"fmt"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/klite/klite/internal/controller"
)

// apply creates the missing pods and deletes the surplus, failed, misplaced and (within
// maxUnavailable) outdated ones.
func (c *Controller) apply(ctx context.Context, key string, ds *appsv1.DaemonSet, p *plan) error {
	var create []string
	var del []*corev1.Pod
	for _, node := range p.want {
		pods := p.byNode[node]
		if len(pods) == 0 {
			create = append(create, node)
			continue
		}
		del = append(del, pods[1:]...) // keep the oldest
	}
	del = append(append(del, p.misplaced...), p.failed...)
	if ds.Spec.UpdateStrategy.Type != appsv1.OnDeleteDaemonSetStrategyType {
		del = append(del, p.outdatedToDelete()...)
	}
	errDel := c.deletePods(ctx, key, ds, del)
	errCreate := c.createPods(ctx, key, ds, p.hash, create)
	return errors.Join(errDel, errCreate)
}

// outdatedToDelete picks pods with an old template: unavailable ones freely, available ones
// while fewer than maxUnavailable nodes lack an available pod.
func (p *plan) outdatedToDelete() []*corev1.Pod {
	unavailable := 0
	var oldAvailable, oldUnavailable []*corev1.Pod
	for _, node := range p.want {
		pods := p.byNode[node]
		if len(pods) == 0 || !available(pods[0], p.minReady) {
			unavailable++
		}
		if len(pods) == 0 || pods[0].Labels[HashLabel] == p.hash {
			continue
		}
		if available(pods[0], p.minReady) {
			oldAvailable = append(oldAvailable, pods[0])
		} else {
			oldUnavailable = append(oldUnavailable, pods[0])
		}
	}
	budget := max(p.maxUnavail-unavailable, 0)
	return append(oldUnavailable, oldAvailable[:min(budget, len(oldAvailable))]...)
}

// newPod is the DaemonSet's pod pinned to node.
func newPod(ds *appsv1.DaemonSet, hash, node string) *corev1.Pod {
	t := ds.Spec.Template.DeepCopy()
	lbls := map[string]string{HashLabel: hash}
	for k, v := range t.Labels {
		lbls[k] = v
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: ds.Name + "-", Namespace: ds.Namespace, Labels: lbls, Annotations: t.Annotations,
			OwnerReferences: []metav1.OwnerReference{controller.OwnerOf(ds, "apps/v1", "DaemonSet").Ref()}},
		Spec: t.Spec,
	}
	for _, d := range defaultTolerations {
		if !tolerationPresent(pod.Spec.Tolerations, d) {
			pod.Spec.Tolerations = append(pod.Spec.Tolerations, d)
		}
	}
	pin := corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{node}}}}
	if pod.Spec.Affinity == nil {
		pod.Spec.Affinity = &corev1.Affinity{}
	}
	if pod.Spec.Affinity.NodeAffinity == nil {
		pod.Spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	pod.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{pin}}
	return pod
}

func tolerationPresent(list []corev1.Toleration, t corev1.Toleration) bool {
	for _, x := range list {
		if x.Key == t.Key && x.Effect == t.Effect {
			return true
		}
	}
	return false
}

func (c *Controller) createPods(ctx context.Context, key string, ds *appsv1.DaemonSet, hash string, nodes []string) error {
	if len(nodes) == 0 {
		return nil
	}
	c.exp.ExpectCreations(key, len(nodes))
	var mu sync.Mutex
	next := 0
	_, err := controller.SlowStartBatch(len(nodes), 1, func() error {
		mu.Lock()
		node := nodes[next]
		next++
		mu.Unlock()
		_, err := c.cfg.Client.CoreV1().Pods(ds.Namespace).Create(ctx, newPod(ds, hash, node), metav1.CreateOptions{})
		if err != nil {
			c.exp.CreationObserved(key)
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil
			}
			return err
		}
		c.cfg.Recorder.Eventf(ds, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod on node %s", node)
		return nil
	})
	for range len(nodes) - next {
		c.exp.CreationObserved(key)
	}
	if err != nil {
		c.cfg.Recorder.Eventf(ds, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
		return fmt.Errorf("create pods: %w", err)
	}
	return nil
}

func (c *Controller) deletePods(ctx context.Context, key string, ds *appsv1.DaemonSet, pods []*corev1.Pod) error {
	if len(pods) == 0 {
		return nil
	}
	uids := make([]types.UID, len(pods))
	for i, p := range pods {
		uids[i] = p.UID
	}
	c.exp.ExpectDeletions(key, uids)
	var errs []error
	for _, p := range pods {
		err := c.cfg.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
		if err != nil {
			c.exp.DeletionObserved(key, p.UID)
			if !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
			continue
		}
		c.cfg.Recorder.Eventf(ds, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %s", p.Name)
	}
	return errors.Join(errs...)
}

// writeStatus computes the DaemonSet's status counts and writes them when changed.
func (c *Controller) writeStatus(ctx context.Context, ds *appsv1.DaemonSet, p *plan) error {
	st := appsv1.DaemonSetStatus{ObservedGeneration: ds.Generation, DesiredNumberScheduled: int32(len(p.want)),
		NumberMisscheduled: int32(len(p.misplaced)), CollisionCount: ds.Status.CollisionCount, Conditions: ds.Status.Conditions}
	for _, node := range p.want {
		pods := p.byNode[node]
		if len(pods) == 0 {
			continue
		}
		st.CurrentNumberScheduled++
		pod := pods[0]
		if controller.IsPodReady(pod) {
			st.NumberReady++
		}
		if available(pod, p.minReady) {
			st.NumberAvailable++
		}
		if pod.Labels[HashLabel] == p.hash {
			st.UpdatedNumberScheduled++
		}
	}
	st.NumberUnavailable = st.DesiredNumberScheduled - st.NumberAvailable
	if equality.Semantic.DeepEqual(ds.Status, st) {
		return nil
	}
	next := ds.DeepCopy()
	next.Status = st
	_, err := c.cfg.Client.AppsV1().DaemonSets(ds.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
