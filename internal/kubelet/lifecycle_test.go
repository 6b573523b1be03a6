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

// TestLifecycle: a sidecar init container keeps running beside the main
// container; postStart and preStop hooks run; hostNetwork pods get the
// node's IP.
func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	shared := t.TempDir()
	always := corev1.ContainerRestartPolicyAlways
	e.create(e.pod("hooks", "while true; do sleep 0.2; done", func(p *corev1.Pod) {
		grace := int64(5)
		p.Spec.TerminationGracePeriodSeconds = &grace
		p.Spec.Volumes = []corev1.Volume{{Name: "shared", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: shared}}}}
		mount := []corev1.VolumeMount{{Name: "shared", MountPath: "/shared"}}
		p.Spec.InitContainers = []corev1.Container{{Name: "sidecar", Image: e.image, ImagePullPolicy: corev1.PullIfNotPresent,
			RestartPolicy: &always, Command: []string{"sh", "-c", "while true; do sleep 1; done"}}}
		c := &p.Spec.Containers[0]
		c.VolumeMounts = mount
		c.Lifecycle = &corev1.Lifecycle{
			PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "echo started > /shared/poststart"}}},
			PreStop:   &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "echo stopping > /shared/prestop"}}},
		}
	}))
	e.create(e.pod("hostnet", "while true; do sleep 1; done", func(p *corev1.Pod) { p.Spec.HostNetwork = true }))

	p := e.waitPod("hooks", 30*time.Second, "Running with its sidecar", func(p *corev1.Pod) bool {
		sc := containerStatus(p, "sidecar")
		return running(p) && sc != nil && sc.State.Running != nil && sc.Started != nil && *sc.Started
	})
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodInitialized && c.Status != corev1.ConditionTrue {
			t.Errorf("Initialized = %s with a running sidecar", c.Status)
		}
	}
	if b, err := os.ReadFile(filepath.Join(shared, "poststart")); err != nil || strings.TrimSpace(string(b)) != "started" {
		t.Errorf("postStart hook: %q, %v", b, err)
	}
	if err := e.client.CoreV1().Pods("default").Delete(context.Background(), "hooks", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, err := os.ReadFile(filepath.Join(shared, "prestop")); err == nil && strings.TrimSpace(string(b)) == "stopping" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("preStop hook did not run")
		}
		time.Sleep(100 * time.Millisecond)
	}

	hp := e.waitPod("hostnet", 30*time.Second, "Running", running)
	if hp.Status.PodIP != "10.0.0.10" {
		t.Errorf("hostNetwork podIP = %q, want the node IP", hp.Status.PodIP)
	}
}
