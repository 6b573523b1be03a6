package persistentvolume

import (
	"context"
	"sort"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// syncClaim gives a claim its class, a volume, or a provisioned volume, and its status.
func (c *Controller) syncClaim(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	if pvc.DeletionTimestamp != nil {
		return nil
	}
	if pvc.Spec.VolumeName != "" {
		return c.syncBoundClaim(ctx, pvc)
	}
	if pvc.Spec.StorageClassName == nil {
		if def := c.defaultClass(); def != nil {
			pvc.Spec.StorageClassName = &def.Name
			_, err := c.cfg.Client.CoreV1().PersistentVolumeClaims(pvc.Namespace).Update(ctx, pvc, metav1.UpdateOptions{})
			return ignoreNotFound(err)
		}
	}
	if pv := c.findVolume(pvc); pv != nil {
		return c.bind(ctx, pv.DeepCopy(), pvc)
	}
	if class := c.classOf(pvc); class != nil && class.Provisioner == Provisioner {
		if wait := class.VolumeBindingMode; wait != nil && *wait == storagev1.VolumeBindingWaitForFirstConsumer && pvc.Annotations[annSelectedNode] == "" {
			return c.setClaimPhase(ctx, pvc, corev1.ClaimPending)
		}
		return c.provision(ctx, pvc, class)
	}
	return c.setClaimPhase(ctx, pvc, corev1.ClaimPending)
}

// syncBoundClaim finishes a binding from the claim side, or marks the claim Lost.
func (c *Controller) syncBoundClaim(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	pv, err := c.volumes.Get(pvc.Spec.VolumeName)
	if apierrors.IsNotFound(err) {
		return c.setClaimPhase(ctx, pvc, corev1.ClaimLost)
	}
	if err != nil {
		return err
	}
	switch ref := pv.Spec.ClaimRef; {
	case ref == nil:
		return c.bind(ctx, pv.DeepCopy(), pvc)
	case ref.Namespace == pvc.Namespace && ref.Name == pvc.Name && (ref.UID == "" || ref.UID == pvc.UID):
		if ref.UID == "" {
			return c.bind(ctx, pv.DeepCopy(), pvc)
		}
		return c.claimBound(ctx, pvc, pv)
	}
	return c.setClaimPhase(ctx, pvc, corev1.ClaimLost)
}

// findVolume returns a volume pre-bound to pvc, else the smallest Available one that fits.
func (c *Controller) findVolume(pvc *corev1.PersistentVolumeClaim) *corev1.PersistentVolume {
	pvs, _ := c.volumes.List(labels.Everything())
	var fits []*corev1.PersistentVolume
	for _, pv := range pvs {
		if pv.DeletionTimestamp != nil || !volumeFits(pv, pvc) {
			continue
		}
		if ref := pv.Spec.ClaimRef; ref != nil {
			if ref.Namespace == pvc.Namespace && ref.Name == pvc.Name && (ref.UID == "" || ref.UID == pvc.UID) {
				return pv
			}
			continue
		}
		fits = append(fits, pv)
	}
	sort.Slice(fits, func(i, j int) bool {
		a, b := fits[i].Spec.Capacity[corev1.ResourceStorage], fits[j].Spec.Capacity[corev1.ResourceStorage]
		return a.Cmp(b) < 0
	})
	if len(fits) == 0 {
		return nil
	}
	return fits[0]
}

// fits_: the volume satisfies the claim's class, access modes, size, mode and selector.
func volumeFits(pv *corev1.PersistentVolume, pvc *corev1.PersistentVolumeClaim) bool {
	class := ""
	if pvc.Spec.StorageClassName != nil {
		class = *pvc.Spec.StorageClassName
	}
	if pv.Spec.StorageClassName != class {
		return false
	}
	for _, m := range pvc.Spec.AccessModes {
		if !hasMode(pv.Spec.AccessModes, m) {
			return false
		}
	}
	want := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	have := pv.Spec.Capacity[corev1.ResourceStorage]
	if have.Cmp(want) < 0 {
		return false
	}
	if mode(pv.Spec.VolumeMode) != mode(pvc.Spec.VolumeMode) {
		return false
	}
	if pvc.Spec.Selector != nil {
		sel, err := metav1.LabelSelectorAsSelector(pvc.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(pv.Labels)) {
			return false
		}
	}
	return true
}

func hasMode(list []corev1.PersistentVolumeAccessMode, m corev1.PersistentVolumeAccessMode) bool {
	for _, x := range list {
		if x == m {
			return true
		}
	}
	return false
}

func mode(m *corev1.PersistentVolumeMode) corev1.PersistentVolumeMode {
	if m == nil {
		return corev1.PersistentVolumeFilesystem
	}
	return *m
}

// bind points the volume at the claim, then the claim at the volume; each write's event
// brings the next step.
func (c *Controller) bind(ctx context.Context, pv *corev1.PersistentVolume, pvc *corev1.PersistentVolumeClaim) error {
	if ref := pv.Spec.ClaimRef; ref == nil || ref.UID != pvc.UID {
		pv.Spec.ClaimRef = &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID}
		setAnn(&pv.ObjectMeta, annBoundByControl, "yes")
		updated, err := c.cfg.Client.CoreV1().PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{})
		if err != nil {
			return err
		}
		pv = updated
	}
	if pvc.Spec.VolumeName != pv.Name {
		pvc.Spec.VolumeName = pv.Name
		setAnn(&pvc.ObjectMeta, annBindCompleted, "yes")
		setAnn(&pvc.ObjectMeta, annBoundByControl, "yes")
		updated, err := c.cfg.Client.CoreV1().PersistentVolumeClaims(pvc.Namespace).Update(ctx, pvc, metav1.UpdateOptions{})
		if err != nil {
			return ignoreNotFound(err)
		}
		pvc = updated
	}
	c.cfg.Recorder.Eventf(pvc, corev1.EventTypeNormal, "Bound", "Bound to volume %s", pv.Name)
	if err := c.setVolumePhase(ctx, pv, corev1.VolumeBound); err != nil {
		return err
	}
	return c.claimBound(ctx, pvc, pv)
}

// claimBound writes the Bound status of a claim: phase, capacity, access modes.
func (c *Controller) claimBound(ctx context.Context, pvc *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume) error {
	if pvc.Annotations[annBindCompleted] != "yes" {
		setAnn(&pvc.ObjectMeta, annBindCompleted, "yes")
		updated, err := c.cfg.Client.CoreV1().PersistentVolumeClaims(pvc.Namespace).Update(ctx, pvc, metav1.UpdateOptions{})
		if err != nil {
			return ignoreNotFound(err)
		}
		pvc = updated
	}
	st := pvc.Status
	if st.Phase == corev1.ClaimBound && st.Capacity.Storage().Equal(*pv.Spec.Capacity.Storage()) && len(st.AccessModes) == len(pv.Spec.AccessModes) {
		return nil
	}
	pvc.Status.Phase, pvc.Status.Capacity, pvc.Status.AccessModes = corev1.ClaimBound, pv.Spec.Capacity, pv.Spec.AccessModes
	_, err := c.cfg.Client.CoreV1().PersistentVolumeClaims(pvc.Namespace).UpdateStatus(ctx, pvc, metav1.UpdateOptions{})
	return ignoreNotFound(err)
}

func (c *Controller) setClaimPhase(ctx context.Context, pvc *corev1.PersistentVolumeClaim, phase corev1.PersistentVolumeClaimPhase) error {
	if pvc.Status.Phase == phase {
		return nil
	}
	pvc.Status.Phase = phase
	_, err := c.cfg.Client.CoreV1().PersistentVolumeClaims(pvc.Namespace).UpdateStatus(ctx, pvc, metav1.UpdateOptions{})
	return ignoreNotFound(err)
}

func (c *Controller) setVolumePhase(ctx context.Context, pv *corev1.PersistentVolume, phase corev1.PersistentVolumePhase) error {
	if pv.Status.Phase == phase {
		return nil
	}
	pv.Status.Phase = phase
	_, err := c.cfg.Client.CoreV1().PersistentVolumes().UpdateStatus(ctx, pv, metav1.UpdateOptions{})
	return ignoreNotFound(err)
}

func setAnn(m *metav1.ObjectMeta, k, v string) {
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	m.Annotations[k] = v
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func (c *Controller) classOf(pvc *corev1.PersistentVolumeClaim) *storagev1.StorageClass {
	if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName == "" {
		return nil
	}
	sc, err := c.classes.Get(*pvc.Spec.StorageClassName)
	if err != nil {
		return nil
	}
	return sc
}

func (c *Controller) defaultClass() *storagev1.StorageClass {
	scs, _ := c.classes.List(labels.Everything())
	var def *storagev1.StorageClass
	for _, sc := range scs {
		if sc.Annotations[annDefaultClass] == "true" && (def == nil || sc.CreationTimestamp.After(def.CreationTimestamp.Time)) {
			def = sc
		}
	}
	return def
}
