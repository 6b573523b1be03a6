package statefulset

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func claimName(template, set string, ord int) string {
	return fmt.Sprintf("%s-%s-%d", template, set, ord)
}

func (p *pass) retention() appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy {
	r := appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType, WhenScaled: appsv1.RetainPersistentVolumeClaimRetentionPolicyType}
	if pol := p.set.Spec.PersistentVolumeClaimRetentionPolicy; pol != nil {
		if pol.WhenDeleted != "" {
			r.WhenDeleted = pol.WhenDeleted
		}
		if pol.WhenScaled != "" {
			r.WhenScaled = pol.WhenScaled
		}
	}
	return r
}

func ownerRef(obj metav1.Object, apiVersion, kind string) metav1.OwnerReference {
	t := true
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: obj.GetName(), UID: obj.GetUID(), BlockOwnerDeletion: &t}
}

// createClaims creates the ordinal's missing claims; with whenDeleted=Delete they are owned by
// the set, so the garbage collector removes them with it.
func (p *pass) createClaims(ctx context.Context, ord int, pod *corev1.Pod) error {
	for _, ct := range p.set.Spec.VolumeClaimTemplates {
		name := claimName(ct.Name, p.set.Name, ord)
		if _, err := p.c.claims.PersistentVolumeClaims(p.set.Namespace).Get(name); err == nil {
			continue
		}
		lbls := map[string]string{}
		for k, v := range ct.Labels {
			lbls[k] = v
		}
		for k, v := range p.set.Spec.Selector.MatchLabels {
			lbls[k] = v
		}
		pvc := &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: p.set.Namespace, Labels: lbls, Annotations: ct.Annotations},
			Spec:       *ct.Spec.DeepCopy(),
		}
		if p.retention().WhenDeleted == appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
			pvc.OwnerReferences = []metav1.OwnerReference{ownerRef(p.set, "apps/v1", "StatefulSet")}
		}
		_, err := p.c.cfg.Client.CoreV1().PersistentVolumeClaims(p.set.Namespace).Create(ctx, pvc, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			p.c.cfg.Recorder.Eventf(p.set, corev1.EventTypeWarning, "FailedCreate", "create Claim %s for Pod %s in StatefulSet %s failed error: %v", name, pod.Name, p.set.Name, err)
			return err
		}
		if err == nil {
			p.c.cfg.Recorder.Eventf(p.set, corev1.EventTypeNormal, "SuccessfulCreate", "create Claim %s Pod %s in StatefulSet %s success", name, pod.Name, p.set.Name)
		}
	}
	return nil
}

// retainOnScaleDown: with whenScaled=Delete, a condemned pod's claims become owned by the pod
// so they go with it.
func (p *pass) retainOnScaleDown(ctx context.Context, pod *corev1.Pod) error {
	if p.retention().WhenScaled != appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
		return nil
	}
	for _, ct := range p.set.Spec.VolumeClaimTemplates {
		pvc, err := p.c.claims.PersistentVolumeClaims(p.set.Namespace).Get(claimName(ct.Name, p.set.Name, p.ordinal(pod)))
		if err != nil {
			continue
		}
		for _, r := range pvc.OwnerReferences {
			if r.UID == pod.UID {
				return nil
			}
		}
		next := pvc.DeepCopy()
		next.OwnerReferences = append(next.OwnerReferences, ownerRef(pod, "v1", "Pod"))
		if _, err := p.c.cfg.Client.CoreV1().PersistentVolumeClaims(next.Namespace).Update(ctx, next, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	return nil
}
