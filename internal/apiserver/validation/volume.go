package validation

import (
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const fileModeMsg = "must be a number between 0 and 0777 (octal), both inclusive"

func validateVolumes(volumes []corev1.Volume, path *field.Path) (sets.Set[string], field.ErrorList) {
	names := sets.New[string]()
	var errs field.ErrorList
	for i := range volumes {
		v := &volumes[i]
		p := path.Index(i)
		errs = append(errs, validateVolumeSource(&v.VolumeSource, p)...)
		namePath := p.Child("name")
		if v.Name == "" {
			errs = append(errs, field.Required(namePath, ""))
		} else {
			errs = append(errs, dnsLabel(v.Name, namePath)...)
		}
		if names.Has(v.Name) {
			errs = append(errs, field.Duplicate(namePath, v.Name))
		}
		names.Insert(v.Name)
	}
	return names, errs
}

// setSources lists the json names of the non-nil pointer fields of a
// volume source struct, in declaration order.
func setSources(src any) []string {
	v := reflect.ValueOf(src).Elem()
	var names []string
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() == reflect.Pointer && !f.IsNil() {
			names = append(names, strings.Split(v.Type().Field(i).Tag.Get("json"), ",")[0])
		}
	}
	return names
}

// validateVolumeSource checks that exactly one source is set, and that one.
func validateVolumeSource(s *corev1.VolumeSource, path *field.Path) field.ErrorList {
	set := setSources(s)
	if len(set) == 0 {
		return field.ErrorList{field.Required(path, "must specify a volume type")}
	}
	var errs field.ErrorList
	for _, name := range set[1:] {
		errs = append(errs, field.Forbidden(path.Child(name), "may not specify more than 1 volume type"))
	}
	switch {
	case s.HostPath != nil:
		errs = append(errs, validateHostPath(s.HostPath, path.Child("hostPath"))...)
	case s.EmptyDir != nil:
		if s.EmptyDir.SizeLimit != nil {
			errs = append(errs, nonNegativeQuantity(*s.EmptyDir.SizeLimit, path.Child("emptyDir", "sizeLimit"))...)
		}
	case s.Secret != nil:
		p := path.Child("secret")
		errs = append(errs, validateRefName(s.Secret.SecretName, p.Child("secretName"))...)
		errs = append(errs, validateKeyToPaths(s.Secret.Items, s.Secret.DefaultMode, p)...)
	case s.ConfigMap != nil:
		p := path.Child("configMap")
		errs = append(errs, validateRefName(s.ConfigMap.Name, p.Child("name"))...)
		errs = append(errs, validateKeyToPaths(s.ConfigMap.Items, s.ConfigMap.DefaultMode, p)...)
	case s.PersistentVolumeClaim != nil:
		errs = append(errs, requiredString(s.PersistentVolumeClaim.ClaimName, path.Child("persistentVolumeClaim", "claimName"))...)
	default:
		errs = append(errs, validateOtherVolumeSource(s, path)...)
	}
	return errs
}

func validateOtherVolumeSource(s *corev1.VolumeSource, path *field.Path) field.ErrorList {
	switch {
	case s.NFS != nil:
		return validateNFS(s.NFS, path.Child("nfs"))
	case s.DownwardAPI != nil:
		p := path.Child("downwardAPI")
		errs := validateFileMode(s.DownwardAPI.DefaultMode, p.Child("defaultMode"))
		return append(errs, validateDownwardAPIFiles(s.DownwardAPI.Items, p.Child("items"))...)
	case s.Projected != nil:
		return validateProjected(s.Projected, path.Child("projected"))
	case s.Ephemeral != nil:
		p := path.Child("ephemeral", "volumeClaimTemplate")
		if s.Ephemeral.VolumeClaimTemplate == nil {
			return field.ErrorList{field.Required(p, "")}
		}
		return validatePVCSpec(&s.Ephemeral.VolumeClaimTemplate.Spec, p.Child("spec"))
	}
	return nil
}

func validateHostPath(h *corev1.HostPathVolumeSource, path *field.Path) field.ErrorList {
	errs := requiredString(h.Path, path.Child("path"))
	if h.Type != nil && *h.Type != corev1.HostPathUnset {
		errs = append(errs, supported(*h.Type, path.Child("type"),
			corev1.HostPathDirectoryOrCreate, corev1.HostPathDirectory, corev1.HostPathFileOrCreate,
			corev1.HostPathFile, corev1.HostPathSocket, corev1.HostPathCharDev, corev1.HostPathBlockDev)...)
	}
	return errs
}

func validateNFS(n *corev1.NFSVolumeSource, path *field.Path) field.ErrorList {
	errs := requiredString(n.Server, path.Child("server"))
	if n.Path == "" {
		errs = append(errs, field.Required(path.Child("path"), ""))
	} else if !strings.HasPrefix(n.Path, "/") {
		errs = append(errs, field.Invalid(path.Child("path"), n.Path, "must be an absolute path"))
	}
	return errs
}

func validateFileMode(mode *int32, path *field.Path) field.ErrorList {
	if mode != nil && (*mode < 0 || *mode > 0o777) {
		return field.ErrorList{field.Invalid(path, *mode, fileModeMsg)}
	}
	return nil
}

func validateKeyToPaths(items []corev1.KeyToPath, defaultMode *int32, path *field.Path) field.ErrorList {
	errs := validateFileMode(defaultMode, path.Child("defaultMode"))
	for i, item := range items {
		p := path.Child("items").Index(i)
		errs = append(errs, requiredString(item.Key, p.Child("key"))...)
		errs = append(errs, localFilePath(item.Path, p.Child("path"))...)
		errs = append(errs, validateFileMode(item.Mode, p.Child("mode"))...)
	}
	return errs
}

// localFilePath checks a file name inside a volume: relative, not escaping,
// and not starting with "..".
func localFilePath(target string, path *field.Path) field.ErrorList {
	if target == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	errs := localDescendingPath(target, path)
	if strings.HasPrefix(target, "..") {
		errs = append(errs, field.Invalid(path, target, "must not start with '..'"))
	}
	return errs
}

func validateDownwardAPIFiles(items []corev1.DownwardAPIVolumeFile, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	allowed := []string{"metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"}
	for i, item := range items {
		p := path.Index(i)
		errs = append(errs, localFilePath(item.Path, p.Child("path"))...)
		errs = append(errs, validateFileMode(item.Mode, p.Child("mode"))...)
		if item.FieldRef != nil {
			errs = append(errs, validateFieldRef(item.FieldRef, allowed, p.Child("fieldRef"))...)
		}
		if item.ResourceFieldRef != nil {
			errs = append(errs, validateResourceFieldRef(item.ResourceFieldRef, p.Child("resourceFieldRef"))...)
		}
		if (item.FieldRef == nil) == (item.ResourceFieldRef == nil) {
			errs = append(errs, field.Invalid(p, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		}
	}
	return errs
}

func validateProjected(pr *corev1.ProjectedVolumeSource, path *field.Path) field.ErrorList {
	errs := validateFileMode(pr.DefaultMode, path.Child("defaultMode"))
	for i := range pr.Sources {
		src := &pr.Sources[i]
		p := path.Child("sources").Index(i)
		set := setSources(src)
		if len(set) == 0 {
			errs = append(errs, field.Required(p, "must specify exactly 1 of: configMap, secret, downwardAPI, serviceAccountToken, clusterTrustBundle, podCertificate"))
		}
		for _, name := range set[min(1, len(set)):] {
			errs = append(errs, field.Forbidden(p.Child(name), "may not specify more than 1 volume type per source"))
		}
		if t := src.ServiceAccountToken; t != nil {
			errs = append(errs, localFilePath(t.Path, p.Child("serviceAccountToken", "path"))...)
			if t.ExpirationSeconds != nil && *t.ExpirationSeconds < 600 {
				errs = append(errs, field.Invalid(p.Child("serviceAccountToken", "expirationSeconds"), *t.ExpirationSeconds, "may not specify a duration less than 10 minutes"))
			}
		}
		if c := src.ConfigMap; c != nil {
			errs = append(errs, validateKeyToPaths(c.Items, nil, p.Child("configMap"))...)
		}
		if s := src.Secret; s != nil {
			errs = append(errs, validateKeyToPaths(s.Items, nil, p.Child("secret"))...)
		}
		if d := src.DownwardAPI; d != nil {
			errs = append(errs, validateDownwardAPIFiles(d.Items, p.Child("downwardAPI", "items"))...)
		}
	}
	return errs
}
