package kubelet

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestVolumes mounts every supported volume kind into one container and
// checks what it sees, including a configMap updated in place.
func TestVolumes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cms := e.client.CoreV1().ConfigMaps("default")
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"app.conf": "v1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sec"},
		Data: map[string][]byte{"token": []byte("s3cret")}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hostDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(hostDir, "host.txt"), []byte("from-host"), 0o644); err != nil {
		t.Fatal(err)
	}
	dirOrCreate := corev1.HostPathDirectoryOrCreate
	created := filepath.Join(t.TempDir(), "made")
	script := `cat /cfg/app.conf; echo; cat /sec/token; echo; cat /dapi/name; echo; cat /dapi/labels; echo; cat /proj/conf; echo; cat /proj/ns; echo; test -s /proj/token && echo has-token;
cat /host/host.txt; echo; echo written > /made/out; grep -q ' /mem tmpfs' /proc/mounts && echo mem-is-tmpfs; echo hi > /scratch/x && cat /scratch/x;
while true; do sleep 0.2; done`
	e.create(e.pod("vols", script, func(p *corev1.Pod) {
		p.Labels = map[string]string{"app": "vols"}
		p.Spec.Volumes = []corev1.Volume{
			{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
			{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "sec"}}},
			{Name: "dapi", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}},
				{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}}}}},
			{Name: "proj", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"},
					Items: []corev1.KeyToPath{{Key: "app.conf", Path: "conf"}}}},
				{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
					{Path: "ns", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}}}}}},
			{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: hostDir}}},
			{Name: "made", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: created, Type: &dirOrCreate}}},
			{Name: "mem", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
			{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		}
		for _, v := range p.Spec.Volumes {
			p.Spec.Containers[0].VolumeMounts = append(p.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: v.Name, MountPath: "/" + v.Name})
		}
	}))
	e.waitPod("vols", 30*time.Second, "Running", running)
	want := "v1\ns3cret\nvols\napp=\"vols\"\nv1\ndefault\nhas-token\nfrom-host\nmem-is-tmpfs\nhi\n"
	var logs string
	for i := 0; i < 50 && logs != want; i++ {
		logs = e.logs("vols", "main", "")
		time.Sleep(100 * time.Millisecond)
	}
	if logs != want {
		t.Errorf("container saw:\n%s\nwant:\n%s", logs, want)
	}
	if b, err := os.ReadFile(filepath.Join(created, "out")); err != nil || string(b) != "written\n" {
		t.Errorf("hostPath DirectoryOrCreate: %q, %v", b, err)
	}

	// Updating the configMap updates the file in place (same container).
	cm, _ := cms.Get(ctx, "cfg", metav1.GetOptions{})
	cm.Data["app.conf"] = "v2"
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		out := e.exec("vols", "main", "cat", "/cfg/app.conf")
		if out == "v2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("configMap volume not updated: %q", out)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// A missing hostPath of type Directory fails the mount with an event.
	dirType := corev1.HostPathDirectory
	e.create(e.pod("badhost", "true", func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
			Path: "/nonexistent/klite", Type: &dirType}}}}
	}))
	deadline = time.Now().Add(15 * time.Second)
	for !strings.Contains(strings.Join(e.events("badhost"), ","), "FailedMount") {
		if time.Now().After(deadline) {
			t.Fatalf("no FailedMount event: %v", e.events("badhost"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
