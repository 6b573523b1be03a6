package volumebinding

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/klite/klite/internal/scheduler/framework"
)

var everything = labels.Everything()

// Reserve keeps nothing beyond the cycle state; the choice is made durable in PreBind.
func (p *VolumeBinding) Reserve(context.Context, *framework.CycleState, *corev1.Pod, string) *framework.Status {
	return nil
}

// Unreserve drops the choice for the node.
func (p *VolumeBinding) Unreserve(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, node string) {
	if st, ok := cs.Read(stateKey).(*state); ok {
		st.mu.Lock()
		delete(st.chosen, node)
		st.mu.Unlock()
	}
}

// PreBind binds delayed claims: a chosen static PV is pre-bound to its claim (PV claimRef and
// the claim's volumeName); a claim left to a provisioner gets the selected-node annotation.
func (p *VolumeBinding) PreBind(ctx context.Context, cs *framework.CycleState, pod *corev1.Pod, node string) *framework.Status {
	st, ok := cs.Read(stateKey).(*state)
	if !ok || len(st.delayed) == 0 {
		return nil
	}
	st.mu.Lock()
	chosen := st.chosen[node]
	st.mu.Unlock()
	for _, pvc := range st.delayed {
		var err error
		if pv := chosen[pvc.Name]; pv != nil {
			err = p.bindStatic(ctx, pvc, pv)
		} else {
			err = p.selectNode(ctx, pvc, node)
		}
		if err != nil {
			return framework.AsStatus(fmt.Errorf("binding volumes of pod %s/%s: %w", pod.Namespace, pod.Name, err))
		}
	}
	return nil
}

func (p *VolumeBinding) bindStatic(ctx context.Context, pvc *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume) error {
	c := p.h.Client().CoreV1()
	pv = pv.DeepCopy()
	pv.Spec.ClaimRef = &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID}
	if _, err := c.PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{}); err != nil {
		return err
	}
	cur, err := c.PersistentVolumeClaims(pvc.Namespace).Get(ctx, pvc.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if cur.Spec.VolumeName == "" {
		cur.Spec.VolumeName = pv.Name
		_, err = c.PersistentVolumeClaims(pvc.Namespace).Update(ctx, cur, metav1.UpdateOptions{})
	}
	return err
}

func (p *VolumeBinding) selectNode(ctx context.Context, pvc *corev1.PersistentVolumeClaim, node string) error {
	c := p.h.Client().CoreV1().PersistentVolumeClaims(pvc.Namespace)
	cur, err := c.Get(ctx, pvc.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if cur.Annotations[SelectedNodeAnnotation] == node {
		return nil
	}
	if cur.Annotations == nil {
		cur.Annotations = map[string]string{}
	}
	cur.Annotations[SelectedNodeAnnotation] = node
	_, err = c.Update(ctx, cur, metav1.UpdateOptions{})
	return err
}
