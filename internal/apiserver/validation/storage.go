package validation

import (
	"fmt"
	"path"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	pathvalidation "k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var storageKeyPath = specPath.Child("resources", "requests", "storage")

func persistentVolumeRules() rules[*corev1.PersistentVolume] {
	return rules[*corev1.PersistentVolume]{
		name:     pathvalidation.ValidatePathSegmentName,
		validate: validatePersistentVolume,
		update:   validatePersistentVolumeUpdate,
		status: func(pv, _ *corev1.PersistentVolume) field.ErrorList {
			if pv.Status.Phase == "" {
				return nil
			}
			return supported(pv.Status.Phase, statusPath.Child("phase"), corev1.VolumePending, corev1.VolumeAvailable,
				corev1.VolumeBound, corev1.VolumeReleased, corev1.VolumeFailed)
		},
	}
}

func validateAccessModes(modes []corev1.PersistentVolumeAccessMode, path *field.Path, requiredMsg string) field.ErrorList {
	if len(modes) == 0 {
		return field.ErrorList{field.Required(path, requiredMsg)}
	}
	var errs field.ErrorList
	rwop, other := false, false
	for _, m := range modes {
		switch m {
		case corev1.ReadWriteOncePod:
			rwop = true
		case corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany:
			other = true
		default:
			errs = append(errs, field.NotSupported(path, m, []corev1.PersistentVolumeAccessMode{
				corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOncePod}))
		}
	}
	if rwop && other {
		errs = append(errs, field.Forbidden(path, "may not use ReadWriteOncePod with other access modes"))
	}
	return errs
}

func validateVolumeMode(m *corev1.PersistentVolumeMode, p *field.Path) field.ErrorList {
	if m == nil {
		return nil
	}
	return supported(*m, p, corev1.PersistentVolumeBlock, corev1.PersistentVolumeFilesystem)
}

func validatePersistentVolume(pv *corev1.PersistentVolume) field.ErrorList {
	s := &pv.Spec
	errs := validateAccessModes(s.AccessModes, specPath.Child("accessModes"), "")
	capPath := specPath.Child("capacity")
	if len(s.Capacity) == 0 {
		errs = append(errs, field.Required(capPath, ""))
	}
	if _, ok := s.Capacity[corev1.ResourceStorage]; !ok || len(s.Capacity) > 1 {
		errs = append(errs, field.NotSupported(capPath, s.Capacity, []corev1.ResourceName{corev1.ResourceStorage}))
	}
	for _, name := range sortedResourceNames(s.Capacity) {
		errs = append(errs, positiveQuantity(s.Capacity[name], capPath.Key(string(name)))...)
	}
	if s.PersistentVolumeReclaimPolicy != "" {
		errs = append(errs, supported(s.PersistentVolumeReclaimPolicy, specPath.Child("persistentVolumeReclaimPolicy"),
			corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRecycle, corev1.PersistentVolumeReclaimRetain)...)
	}
	errs = append(errs, validatePVSource(&s.PersistentVolumeSource)...)
	if s.HostPath != nil && path.Clean(s.HostPath.Path) == "/" && s.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimRecycle {
		errs = append(errs, field.Forbidden(specPath.Child("persistentVolumeReclaimPolicy"), "may not be 'recycle' for a hostPath mount of '/'"))
	}
	if s.StorageClassName != "" {
		errs = append(errs, dnsSubdomain(s.StorageClassName, specPath.Child("storageClassName"))...)
	}
	errs = append(errs, validateVolumeMode(s.VolumeMode, specPath.Child("volumeMode"))...)
	if s.Local != nil && (s.NodeAffinity == nil || s.NodeAffinity.Required == nil) {
		errs = append(errs, field.Required(specPath.Child("nodeAffinity"), "Local volumes require node affinity"))
	}
	if na := s.NodeAffinity; na != nil && na.Required != nil {
		errs = append(errs, validateNodeSelector(na.Required, specPath.Child("nodeAffinity", "required"))...)
	}
	return errs
}

func validatePVSource(src *corev1.PersistentVolumeSource) field.ErrorList {
	set := setSources(src)
	if len(set) == 0 {
		return field.ErrorList{field.Required(specPath, "must specify a volume type")}
	}
	var errs field.ErrorList
	for _, name := range set[1:] {
		errs = append(errs, field.Forbidden(specPath.Child(name), "may not specify more than 1 volume type"))
	}
	switch {
	case src.HostPath != nil:
		errs = append(errs, validateHostPath(src.HostPath, specPath.Child("hostPath"))...)
	case src.NFS != nil:
		errs = append(errs, validateNFS(src.NFS, specPath.Child("nfs"))...)
	case src.Local != nil:
		errs = append(errs, requiredString(src.Local.Path, specPath.Child("local", "path"))...)
	case src.CSI != nil:
		errs = append(errs, requiredString(src.CSI.Driver, specPath.Child("csi", "driver"))...)
		errs = append(errs, requiredString(src.CSI.VolumeHandle, specPath.Child("csi", "volumeHandle"))...)
	}
	return errs
}

func validatePersistentVolumeUpdate(pv, old *corev1.PersistentVolume) field.ErrorList {
	var errs field.ErrorList
	if !semanticEqual(pv.Spec.PersistentVolumeSource, old.Spec.PersistentVolumeSource) {
		diff := cmp.Diff(old.Spec.PersistentVolumeSource, pv.Spec.PersistentVolumeSource)
		errs = append(errs, field.Forbidden(specPath.Child("persistentvolumesource"),
			fmt.Sprintf("spec.persistentvolumesource is immutable after creation\n%v", diff)))
	}
	errs = append(errs, immutable(pv.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)
	if old.Spec.NodeAffinity != nil {
		errs = append(errs, immutable(pv.Spec.NodeAffinity, old.Spec.NodeAffinity, field.NewPath("nodeAffinity"))...)
	}
	return errs
}

func persistentVolumeClaimRules() rules[*corev1.PersistentVolumeClaim] {
	return rules[*corev1.PersistentVolumeClaim]{
		namespaced: true,
		validate: func(pvc *corev1.PersistentVolumeClaim) field.ErrorList {
			return validatePVCSpec(&pvc.Spec, specPath)
		},
		update: validatePersistentVolumeClaimUpdate,
		status: func(pvc, _ *corev1.PersistentVolumeClaim) field.ErrorList {
			return validateResourceList(pvc.Status.Capacity, statusPath.Child("capacity"))
		},
	}
}

func validatePVCSpec(s *corev1.PersistentVolumeClaimSpec, p *field.Path) field.ErrorList {
	errs := validateAccessModes(s.AccessModes, p.Child("accessModes"), "at least 1 access mode is required")
	if s.Selector != nil {
		errs = append(errs, labelSelector(s.Selector, p.Child("selector"))...)
	}
	storagePath := p.Child("resources").Key(string(corev1.ResourceStorage))
	if q, ok := s.Resources.Requests[corev1.ResourceStorage]; !ok {
		errs = append(errs, field.Required(storagePath, ""))
	} else {
		errs = append(errs, positiveQuantity(q, storagePath)...)
	}
	if s.StorageClassName != nil && *s.StorageClassName != "" {
		errs = append(errs, dnsSubdomain(*s.StorageClassName, p.Child("storageClassName"))...)
	}
	return append(errs, validateVolumeMode(s.VolumeMode, p.Child("volumeMode"))...)
}

// validatePersistentVolumeClaimUpdate allows binding (volumeName set once),
// and for bound claims a change of requested storage that does not shrink
// below the recorded capacity; the rest of the spec is immutable.
func validatePersistentVolumeClaimUpdate(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	newSpec, oldSpec := pvc.Spec.DeepCopy(), old.Spec.DeepCopy()
	if oldSpec.VolumeName == "" {
		oldSpec.VolumeName = newSpec.VolumeName
	}
	if oldSpec.StorageClassName == nil {
		oldSpec.StorageClassName = newSpec.StorageClassName
	}
	if pvc.Status.Phase == corev1.ClaimBound && newSpec.Resources.Requests != nil {
		newSpec.Resources.Requests[corev1.ResourceStorage] = old.Spec.Resources.Requests[corev1.ResourceStorage]
		newSpec.VolumeAttributesClassName = oldSpec.VolumeAttributesClassName
	}
	var errs field.ErrorList
	if !semanticEqual(*newSpec, *oldSpec) {
		diff := cmp.Diff(*oldSpec, *newSpec)
		errs = append(errs, field.Forbidden(specPath, fmt.Sprintf(
			"spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n%v", diff)))
	}
	newSize := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	oldSize := old.Spec.Resources.Requests[corev1.ResourceStorage]
	statusSize := old.Status.Capacity[corev1.ResourceStorage]
	if newSize.Cmp(oldSize) < 0 && newSize.Cmp(statusSize) <= 0 {
		errs = append(errs, field.Forbidden(storageKeyPath, "field can not be less than status.capacity"))
	}
	return append(errs, immutable(pvc.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)
}

func storageClassRules() rules[*storagev1.StorageClass] {
	return rules[*storagev1.StorageClass]{validate: validateStorageClass, update: validateStorageClassUpdate}
}

func validateStorageClass(sc *storagev1.StorageClass) field.ErrorList {
	p := field.NewPath("provisioner")
	var errs field.ErrorList
	if sc.Provisioner == "" {
		errs = append(errs, field.Required(p, ""))
	} else {
		errs = append(errs, qualifiedName(sc.Provisioner, p)...)
	}
	size := 0
	for k, v := range sc.Parameters {
		size += len(k) + len(v)
		if k == "" {
			errs = append(errs, field.Invalid(field.NewPath("parameters"), sc.Parameters, "parameter key may not be empty"))
		}
	}
	if size > 256*1024 {
		errs = append(errs, field.TooLong(field.NewPath("parameters"), "", 256*1024))
	}
	if sc.ReclaimPolicy != nil {
		errs = append(errs, supported(*sc.ReclaimPolicy, field.NewPath("reclaimPolicy"),
			corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRetain)...)
	}
	if sc.VolumeBindingMode == nil {
		errs = append(errs, field.Required(field.NewPath("volumeBindingMode"), ""))
	} else {
		errs = append(errs, supported(*sc.VolumeBindingMode, field.NewPath("volumeBindingMode"),
			storagev1.VolumeBindingImmediate, storagev1.VolumeBindingWaitForFirstConsumer)...)
	}
	return errs
}

func validateStorageClassUpdate(sc, old *storagev1.StorageClass) field.ErrorList {
	var errs field.ErrorList
	if !semanticEqual(sc.Parameters, old.Parameters) {
		errs = append(errs, field.Forbidden(field.NewPath("parameters"), "updates to parameters are forbidden."))
	}
	if sc.Provisioner != old.Provisioner {
		errs = append(errs, field.Forbidden(field.NewPath("provisioner"), "updates to provisioner are forbidden."))
	}
	if !semanticEqual(sc.ReclaimPolicy, old.ReclaimPolicy) {
		errs = append(errs, field.Forbidden(field.NewPath("reclaimPolicy"), "updates to reclaimPolicy are forbidden."))
	}
	return append(errs, immutable(sc.VolumeBindingMode, old.VolumeBindingMode, field.NewPath("volumeBindingMode"))...)
}
