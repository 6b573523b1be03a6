package printers

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Annotations that name a volume's class and the default StorageClass.
const (
	betaStorageClassAnnotation   = "volume.beta.kubernetes.io/storage-class"
	defaultClassAnnotation       = "storageclass.kubernetes.io/is-default-class"
	betaDefaultClassAnnotation   = "storageclass.beta.kubernetes.io/is-default-class"
	terminating                  = "Terminating"
	defaultStorageClassSuffix    = " (default)"
	defaultStorageReclaimPolicy  = corev1.PersistentVolumeReclaimDelete
	defaultStorageVolumeBindMode = storagev1.VolumeBindingImmediate
)

// volumePrinter returns the printer of PersistentVolume and PersistentVolumeClaim.
func volumePrinter(kind string) (Printer, bool) {
	switch kind {
	case "PersistentVolume":
		return persistentVolumePrinter(), true
	case "PersistentVolumeClaim":
		return persistentVolumeClaimPrinter(), true
	}
	return Printer{}, false
}

func persistentVolumePrinter() Printer {
	spec, status := corev1.PersistentVolumeSpec{}.SwaggerDoc(), corev1.PersistentVolumeStatus{}.SwaggerDoc()
	return Printer{
		Columns: cols(nameColumn(),
			str("Capacity", spec["capacity"]),
			str("Access Modes", spec["accessModes"]),
			str("Reclaim Policy", spec["persistentVolumeReclaimPolicy"]),
			str("Status", status["phase"]),
			str("Claim", spec["claimRef"]),
			str("StorageClass", "StorageClass of the pv"),
			str("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
			str("Reason", status["reason"]),
			ageColumn(),
			wide(str("VolumeMode", spec["volumeMode"]))),
		Cells: simpleCells(persistentVolumeCells),
	}
}

func persistentVolumeCells(pv *corev1.PersistentVolume, now time.Time) []interface{} {
	claim := ""
	if ref := pv.Spec.ClaimRef; ref != nil {
		claim = ref.Namespace + "/" + ref.Name
	}
	phase := string(pv.Status.Phase)
	if pv.DeletionTimestamp != nil {
		phase = terminating
	}
	class := pv.Spec.StorageClassName
	if c, ok := pv.Annotations[betaStorageClassAnnotation]; ok {
		class = c
	}
	capacity := pv.Spec.Capacity[corev1.ResourceStorage]
	return []interface{}{pv.Name, capacity.String(), accessModes(pv.Spec.AccessModes), string(pv.Spec.PersistentVolumeReclaimPolicy),
		phase, claim, class, orUnset(pv.Spec.VolumeAttributesClassName), pv.Status.Reason, age(pv.CreationTimestamp, now),
		volumeMode(pv.Spec.VolumeMode)}
}

func persistentVolumeClaimPrinter() Printer {
	spec, status := corev1.PersistentVolumeClaimSpec{}.SwaggerDoc(), corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()
	return Printer{
		Columns: cols(nameColumn(),
			str("Status", status["phase"]),
			str("Volume", spec["volumeName"]),
			str("Capacity", status["capacity"]),
			str("Access Modes", status["accessModes"]),
			str("StorageClass", "StorageClass of the pvc"),
			str("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
			ageColumn(),
			wide(str("VolumeMode", spec["volumeMode"]))),
		Cells: simpleCells(persistentVolumeClaimCells),
	}
}

func persistentVolumeClaimCells(pvc *corev1.PersistentVolumeClaim, now time.Time) []interface{} {
	phase := string(pvc.Status.Phase)
	if pvc.DeletionTimestamp != nil {
		phase = terminating
	}
	capacity, modes := "", ""
	if pvc.Spec.VolumeName != "" {
		q := pvc.Status.Capacity[corev1.ResourceStorage]
		capacity, modes = q.String(), accessModes(pvc.Status.AccessModes)
	}
	class := ""
	if pvc.Spec.StorageClassName != nil {
		class = *pvc.Spec.StorageClassName
	}
	if c, ok := pvc.Annotations[betaStorageClassAnnotation]; ok {
		class = c
	}
	return []interface{}{pvc.Name, phase, pvc.Spec.VolumeName, capacity, modes, class,
		orUnset(pvc.Spec.VolumeAttributesClassName), age(pvc.CreationTimestamp, now), volumeMode(pvc.Spec.VolumeMode)}
}

// accessModes abbreviates access modes in a fixed order: RWO, ROX, RWX, RWOP.
func accessModes(modes []corev1.PersistentVolumeAccessMode) string {
	has := map[corev1.PersistentVolumeAccessMode]bool{}
	for _, m := range modes {
		has[m] = true
	}
	var out []string
	for _, m := range []struct {
		mode  corev1.PersistentVolumeAccessMode
		short string
	}{
		{corev1.ReadWriteOnce, "RWO"}, {corev1.ReadOnlyMany, "ROX"}, {corev1.ReadWriteMany, "RWX"}, {corev1.ReadWriteOncePod, "RWOP"},
	} {
		if has[m.mode] {
			out = append(out, m.short)
		}
	}
	return strings.Join(out, ",")
}

func volumeMode(m *corev1.PersistentVolumeMode) string {
	if m == nil {
		return unset
	}
	return string(*m)
}

func orUnset(s *string) string {
	if s == nil {
		return unset
	}
	return *s
}

func isStorageClass(gk schema.GroupKind) bool {
	return gk == schema.GroupKind{Group: storagev1.GroupName, Kind: "StorageClass"}
}

func storageClassPrinter(effectiveDefault string) Printer {
	doc := storagev1.StorageClass{}.SwaggerDoc()
	return Printer{
		Columns: cols(nameColumn(),
			str("Provisioner", doc["provisioner"]),
			str("ReclaimPolicy", doc["reclaimPolicy"]),
			str("VolumeBindingMode", doc["volumeBindingMode"]),
			str("AllowVolumeExpansion", doc["allowVolumeExpansion"]),
			ageColumn()),
		Cells: simpleCells(func(sc *storagev1.StorageClass, now time.Time) []interface{} {
			return storageClassCells(sc, now, effectiveDefault)
		}),
	}
}

func storageClassCells(sc *storagev1.StorageClass, now time.Time, effectiveDefault string) []interface{} {
	name := sc.Name
	if effectiveDefault != "" && name == effectiveDefault {
		name += defaultStorageClassSuffix
	}
	reclaim := string(defaultStorageReclaimPolicy)
	if sc.ReclaimPolicy != nil {
		reclaim = string(*sc.ReclaimPolicy)
	}
	binding := string(defaultStorageVolumeBindMode)
	if sc.VolumeBindingMode != nil {
		binding = string(*sc.VolumeBindingMode)
	}
	expansion := sc.AllowVolumeExpansion != nil && *sc.AllowVolumeExpansion
	return []interface{}{name, sc.Provisioner, reclaim, binding, expansion, age(sc.CreationTimestamp, now)}
}

// storageClassListPrinter marks the effective default class among objs, as upstream
// does when it prints a list: of the classes annotated default, the newest, and of
// equally new ones the first by name.
func storageClassListPrinter(objs []runtime.Object) Printer {
	var best *storagev1.StorageClass
	for _, obj := range objs {
		sc, err := asTyped[storagev1.StorageClass](obj)
		if err != nil || !isDefaultClass(sc) {
			continue
		}
		if best == nil || sc.CreationTimestamp.After(best.CreationTimestamp.Time) ||
			(sc.CreationTimestamp.Equal(&best.CreationTimestamp) && sc.Name < best.Name) {
			best = sc
		}
	}
	if best == nil {
		return storageClassPrinter("")
	}
	return storageClassPrinter(best.Name)
}

func isDefaultClass(sc *storagev1.StorageClass) bool {
	return sc.Annotations[defaultClassAnnotation] == "true" || sc.Annotations[betaDefaultClassAnnotation] == "true"
}
