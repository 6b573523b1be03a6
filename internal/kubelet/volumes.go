package kubelet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// volumeDir is <root>/pods/<uid>/volumes/<name>.
func (k *Kubelet) volumeDir(pod *corev1.Pod, name string) string {
	return filepath.Join(k.cfg.RootDir, "pods", string(pod.UID), "volumes", name)
}

// mountVolumes sets up every volume of the pod; it is idempotent and
// refreshes configMap, secret, projected and downwardAPI contents in place.
func (k *Kubelet) mountVolumes(ctx context.Context, pod *corev1.Pod) error {
	var errs []error
	for _, v := range pod.Spec.Volumes {
		if err := k.setupVolume(ctx, pod, v); err != nil {
			errs = append(errs, fmt.Errorf("volume %q: %w", v.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (k *Kubelet) setupVolume(ctx context.Context, pod *corev1.Pod, v corev1.Volume) error {
	dir := k.volumeDir(pod, v.Name)
	switch {
	case v.EmptyDir != nil:
		return setupEmptyDir(dir, v.EmptyDir)
	case v.HostPath != nil:
		return checkHostPath(v.HostPath)
	case v.ConfigMap != nil, v.Secret != nil, v.DownwardAPI != nil, v.Projected != nil:
		files, err := k.volumeFiles(ctx, pod, v)
		if err != nil {
			return err
		}
		return writeAtomic(dir, files)
	case v.PersistentVolumeClaim != nil:
		_, err := k.pvcPath(ctx, pod, v.PersistentVolumeClaim.ClaimName)
		return err
	}
	return fmt.Errorf("unsupported volume type")
}

func setupEmptyDir(dir string, e *corev1.EmptyDirVolumeSource) error {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	if e.Medium != corev1.StorageMediumMemory || isMountPoint(dir) {
		return os.Chmod(dir, 0o777)
	}
	opts := "mode=0777"
	if e.SizeLimit != nil && !e.SizeLimit.IsZero() {
		opts += fmt.Sprintf(",size=%d", e.SizeLimit.Value())
	}
	return unix.Mount("tmpfs", dir, "tmpfs", 0, opts)
}

func isMountPoint(dir string) bool {
	var a, b unix.Stat_t
	if unix.Stat(dir, &a) != nil || unix.Stat(filepath.Dir(dir), &b) != nil {
		return false
	}
	return a.Dev != b.Dev
}

// checkHostPath applies the hostPath type checks, creating what the type allows.
func checkHostPath(h *corev1.HostPathVolumeSource) error {
	t := corev1.HostPathUnset
	if h.Type != nil {
		t = *h.Type
	}
	fi, err := os.Stat(h.Path)
	switch t {
	case corev1.HostPathUnset:
		return nil
	case corev1.HostPathDirectoryOrCreate:
		if err != nil {
			return os.MkdirAll(h.Path, 0o755)
		}
		return wantType(fi.IsDir(), h.Path, "directory")
	case corev1.HostPathFileOrCreate:
		if err != nil {
			if err := os.MkdirAll(filepath.Dir(h.Path), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(h.Path, os.O_CREATE|os.O_RDWR, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
		return wantType(fi.Mode().IsRegular(), h.Path, "file")
	}
	if err != nil {
		return fmt.Errorf("hostPath type check failed: %s does not exist", h.Path)
	}
	m := fi.Mode()
	checks := map[corev1.HostPathType]bool{
		corev1.HostPathDirectory: fi.IsDir(), corev1.HostPathFile: m.IsRegular(),
		corev1.HostPathSocket: m&os.ModeSocket != 0, corev1.HostPathCharDev: m&os.ModeCharDevice != 0,
		corev1.HostPathBlockDev: m&os.ModeDevice != 0 && m&os.ModeCharDevice == 0,
	}
	return wantType(checks[t], h.Path, string(t))
}

func wantType(ok bool, path, what string) error {
	if !ok {
		return fmt.Errorf("hostPath type check failed: %s is not a %s", path, what)
	}
	return nil
}

// pvcPath is the host path of the hostPath or local PV bound to the claim.
func (k *Kubelet) pvcPath(ctx context.Context, pod *corev1.Pod, claim string) (string, error) {
	pvc, err := k.client.CoreV1().PersistentVolumeClaims(pod.Namespace).Get(ctx, claim, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if pvc.Spec.VolumeName == "" {
		return "", fmt.Errorf("persistentvolumeclaim %q is not bound", claim)
	}
	pv, err := k.client.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	switch {
	case pv.Spec.HostPath != nil:
		return pv.Spec.HostPath.Path, checkHostPath(pv.Spec.HostPath)
	case pv.Spec.Local != nil:
		return pv.Spec.Local.Path, nil
	}
	return "", fmt.Errorf("persistentvolume %q is neither hostPath nor local", pv.Name)
}

// containerMounts maps the container's volumeMounts to host paths.
func (k *Kubelet) containerMounts(pod *corev1.Pod, c *corev1.Container) ([]*runtimeapi.Mount, error) {
	var out []*runtimeapi.Mount
	for _, m := range c.VolumeMounts {
		v := findVolume(pod, m.Name)
		if v == nil {
			return nil, fmt.Errorf("no volume %q", m.Name)
		}
		host := k.volumeDir(pod, v.Name)
		switch {
		case v.HostPath != nil:
			host = v.HostPath.Path
		case v.PersistentVolumeClaim != nil:
			p, err := k.pvcPath(k.ctx, pod, v.PersistentVolumeClaim.ClaimName)
			if err != nil {
				return nil, err
			}
			host = p
		}
		if m.SubPath != "" {
			host = filepath.Join(host, filepath.Clean("/"+m.SubPath))
			if _, err := os.Stat(host); os.IsNotExist(err) {
				if err := os.MkdirAll(host, 0o755); err != nil {
					return nil, err
				}
			}
		}
		ro := m.ReadOnly || v.ConfigMap != nil || v.Secret != nil || v.Projected != nil || v.DownwardAPI != nil
		out = append(out, &runtimeapi.Mount{ContainerPath: m.MountPath, HostPath: host, Readonly: ro})
	}
	return out, nil
}

func findVolume(pod *corev1.Pod, name string) *corev1.Volume {
	for i := range pod.Spec.Volumes {
		if pod.Spec.Volumes[i].Name == name {
			return &pod.Spec.Volumes[i]
		}
	}
	return nil
}

// removeVolumes unmounts tmpfs volumes and deletes the pod's directory.
func (k *Kubelet) removeVolumes(pod *corev1.Pod) {
	for _, v := range pod.Spec.Volumes {
		if dir := k.volumeDir(pod, v.Name); isMountPoint(dir) {
			_ = unix.Unmount(dir, unix.MNT_DETACH)
		}
	}
	_ = os.RemoveAll(filepath.Join(k.cfg.RootDir, "pods", string(pod.UID)))
	k.forgetTokens(pod.UID)
}
