package defaults

import (
	"reflect"

	corev1 "k8s.io/api/core/v1"
)

// setVolume defaults a pod volume: an empty source becomes an emptyDir, and
// each source gets its own defaults.
func setVolume(v *corev1.Volume) {
	if reflect.ValueOf(v.VolumeSource).IsZero() {
		v.EmptyDir = &corev1.EmptyDirVolumeSource{}
	}
	s := &v.VolumeSource
	if s.HostPath != nil && s.HostPath.Type == nil {
		s.HostPath.Type = ptr(corev1.HostPathUnset)
	}
	if s.ConfigMap != nil && s.ConfigMap.DefaultMode == nil {
		s.ConfigMap.DefaultMode = ptr(defaultVolumeMode)
	}
	if s.Secret != nil && s.Secret.DefaultMode == nil {
		s.Secret.DefaultMode = ptr(defaultVolumeMode)
	}
	if s.DownwardAPI != nil {
		setDownwardAPI(s.DownwardAPI)
	}
	if s.Projected != nil {
		setProjected(s.Projected)
	}
	if s.ISCSI != nil && s.ISCSI.ISCSIInterface == "" {
		s.ISCSI.ISCSIInterface = "default"
	}
	if s.RBD != nil {
		setRBD(&s.RBD.RBDPool, &s.RBD.RadosUser, &s.RBD.Keyring)
	}
	if s.Ephemeral != nil && s.Ephemeral.VolumeClaimTemplate != nil {
		setPVCSpec(&s.Ephemeral.VolumeClaimTemplate.Spec)
	}
}

func setDownwardAPI(d *corev1.DownwardAPIVolumeSource) {
	if d.DefaultMode == nil {
		d.DefaultMode = ptr(defaultVolumeMode)
	}
	for i := range d.Items {
		if f := d.Items[i].FieldRef; f != nil && f.APIVersion == "" {
			f.APIVersion = "v1"
		}
	}
}

func setProjected(p *corev1.ProjectedVolumeSource) {
	if p.DefaultMode == nil {
		p.DefaultMode = ptr(defaultVolumeMode)
	}
	for i := range p.Sources {
		src := &p.Sources[i]
		if t := src.ServiceAccountToken; t != nil && t.ExpirationSeconds == nil {
			t.ExpirationSeconds = ptr(defaultTokenExpiration)
		}
		if d := src.DownwardAPI; d != nil {
			for j := range d.Items {
				if f := d.Items[j].FieldRef; f != nil && f.APIVersion == "" {
					f.APIVersion = "v1"
				}
			}
		}
	}
}

func setRBD(pool, user, keyring *string) {
	if *pool == "" {
		*pool = "rbd"
	}
	if *user == "" {
		*user = "admin"
	}
	if *keyring == "" {
		*keyring = "/etc/ceph/keyring"
	}
}

func setPVCSpec(s *corev1.PersistentVolumeClaimSpec) {
	if s.VolumeMode == nil {
		s.VolumeMode = ptr(corev1.PersistentVolumeFilesystem)
	}
}
