package kubelet

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// file is one file of a configMap, secret, projected or downwardAPI volume.
type file struct {
	data []byte
	mode os.FileMode
}

// volumeFiles computes the files a data volume should hold now.
func (k *Kubelet) volumeFiles(ctx context.Context, pod *corev1.Pod, v corev1.Volume) (map[string]file, error) {
	switch {
	case v.ConfigMap != nil:
		return k.configMapFiles(pod, &corev1.ConfigMapProjection{LocalObjectReference: v.ConfigMap.LocalObjectReference,
			Items: v.ConfigMap.Items, Optional: v.ConfigMap.Optional}, modeOr(v.ConfigMap.DefaultMode))
	case v.Secret != nil:
		return k.secretFiles(pod, &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: v.Secret.SecretName},
			Items: v.Secret.Items, Optional: v.Secret.Optional}, modeOr(v.Secret.DefaultMode))
	case v.DownwardAPI != nil:
		return k.downwardFiles(pod, v.DownwardAPI.Items, modeOr(v.DownwardAPI.DefaultMode))
	}
	out := map[string]file{}
	mode := modeOr(v.Projected.DefaultMode)
	for _, src := range v.Projected.Sources {
		files, err := k.projectedFiles(ctx, pod, src, mode)
		if err != nil {
			return nil, err
		}
		for p, f := range files {
			out[p] = f
		}
	}
	return out, nil
}

func (k *Kubelet) projectedFiles(ctx context.Context, pod *corev1.Pod, src corev1.VolumeProjection, mode os.FileMode) (map[string]file, error) {
	switch {
	case src.ConfigMap != nil:
		return k.configMapFiles(pod, src.ConfigMap, mode)
	case src.Secret != nil:
		return k.secretFiles(pod, src.Secret, mode)
	case src.DownwardAPI != nil:
		return k.downwardFiles(pod, src.DownwardAPI.Items, mode)
	case src.ServiceAccountToken != nil:
		tok, err := k.cachedToken(ctx, pod, src.ServiceAccountToken)
		if err != nil {
			return nil, err
		}
		return map[string]file{src.ServiceAccountToken.Path: {tok, mode}}, nil
	}
	return nil, nil
}

func modeOr(m *int32) os.FileMode {
	if m == nil {
		return 0o644
	}
	return os.FileMode(*m)
}

func (k *Kubelet) configMapFiles(pod *corev1.Pod, p *corev1.ConfigMapProjection, mode os.FileMode) (map[string]file, error) {
	cm, err := k.configMaps.ConfigMaps(pod.Namespace).Get(p.Name)
	if err != nil {
		return nil, optionalErr(p.Optional, fmt.Errorf("configmap %q not found", p.Name))
	}
	data := map[string][]byte{}
	for key, v := range cm.Data {
		data[key] = []byte(v)
	}
	for key, v := range cm.BinaryData {
		data[key] = v
	}
	return keyFiles(data, p.Items, mode)
}

func (k *Kubelet) secretFiles(pod *corev1.Pod, p *corev1.SecretProjection, mode os.FileMode) (map[string]file, error) {
	s, err := k.secrets.Secrets(pod.Namespace).Get(p.Name)
	if err != nil {
		return nil, optionalErr(p.Optional, fmt.Errorf("secret %q not found", p.Name))
	}
	return keyFiles(s.Data, p.Items, mode)
}

// keyFiles maps keys to files: all keys, or only the listed items.
func keyFiles(data map[string][]byte, items []corev1.KeyToPath, mode os.FileMode) (map[string]file, error) {
	out := map[string]file{}
	if len(items) == 0 {
		for key, v := range data {
			out[key] = file{v, mode}
		}
		return out, nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			return nil, fmt.Errorf("key %q not found", it.Key)
		}
		out[it.Path] = file{v, modeOr2(it.Mode, mode)}
	}
	return out, nil
}

func modeOr2(m *int32, def os.FileMode) os.FileMode {
	if m == nil {
		return def
	}
	return os.FileMode(*m)
}

func (k *Kubelet) downwardFiles(pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, mode os.FileMode) (map[string]file, error) {
	out := map[string]file{}
	for _, it := range items {
		var v string
		var err error
		switch {
		case it.FieldRef != nil:
			v, err = k.fieldValue(pod, it.FieldRef.FieldPath, pod.Status.PodIP)
		case it.ResourceFieldRef != nil:
			c := &corev1.Container{}
			if len(pod.Spec.Containers) > 0 {
				c = &pod.Spec.Containers[0]
			}
			v, err = k.resourceValue(pod, c, it.ResourceFieldRef)
		}
		if err != nil {
			return nil, err
		}
		out[it.Path] = file{[]byte(v), modeOr2(it.Mode, mode)}
	}
	return out, nil
}

// writeAtomic makes dir hold exactly files, swapping a new timestamped
// directory in through the ..data symlink so readers never see a mix (the
// upstream atomic writer's layout: key -> ..data/key, ..data -> ..<ts>).
func writeAtomic(dir string, files map[string]file) error {
	if sameContents(dir, files) {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ts := "..." + strconv.FormatInt(time.Now().UnixNano(), 10)
	tsDir := filepath.Join(dir, ts)
	for p, f := range files {
		full := filepath.Join(tsDir, filepath.Clean("/"+p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, f.data, f.mode); err != nil {
			return err
		}
		_ = os.Chmod(full, f.mode)
	}
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	tmp := filepath.Join(dir, "..data_tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(ts, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		return err
	}
	linkTopLevel(dir, files)
	if old != "" && old != ts {
		_ = os.RemoveAll(filepath.Join(dir, old))
	}
	return nil
}

// linkTopLevel points each top-level name at ..data and drops stale ones.
func linkTopLevel(dir string, files map[string]file) {
	want := map[string]bool{}
	for p := range files {
		top := strings.SplitN(strings.TrimPrefix(filepath.Clean("/"+p), "/"), "/", 2)[0]
		want[top] = true
		link := filepath.Join(dir, top)
		if _, err := os.Lstat(link); err != nil {
			_ = os.Symlink(filepath.Join("..data", top), link)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "..") && !want[e.Name()] {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// sameContents reports whether dir/..data already holds exactly files.
func sameContents(dir string, files map[string]file) bool {
	data := filepath.Join(dir, "..data")
	n := 0
	err := filepath.Walk(data+"/", func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n++
		}
		return err
	})
	if err != nil || n != len(files) {
		return false
	}
	for p, f := range files {
		b, err := os.ReadFile(filepath.Join(data, filepath.Clean("/"+p)))
		if err != nil || !bytes.Equal(b, f.data) {
			return false
		}
	}
	return true
}
