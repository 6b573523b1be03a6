package kubelet

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestRestartAdoptsContainers: after a kubelet restart the running
// containers are adopted (same IDs, restart counts continue, nothing
// duplicated), and a pod deleted while the kubelet was down is cleaned up.
func TestRestartAdoptsContainers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	onceFail := "test -f /data/ran || { touch /data/ran; exit 1; }; while true; do sleep 1; done"
	withData := func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	}
	e.create(e.pod("keep", onceFail, withData))
	e.create(e.pod("doomed", "while true; do sleep 1; done"))
	before := e.waitPod("keep", 30*time.Second, "running after one restart", func(p *corev1.Pod) bool {
		cs := containerStatus(p, "main")
		return running(p) && cs.RestartCount == 1 && cs.State.Running != nil
	})
	e.waitPod("doomed", 30*time.Second, "Running", running)

	e.stop()
	zero := int64(0)
	if err := e.client.CoreV1().Pods("default").Delete(ctx, "doomed", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	e.startKubelet()

	deadline := time.Now().Add(20 * time.Second)
	for {
		sbs, err := e.cfg.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
		if err == nil && len(sbs.Items) == 1 && sbs.Items[0].Metadata.Name == "keep" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sandboxes after restart = %v, %v; want only keep's", sbs, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // several sync periods of the new kubelet
	after := e.waitPod("keep", 10*time.Second, "Running", running)
	b, a := containerStatus(before, "main"), containerStatus(after, "main")
	if a.ContainerID != b.ContainerID || a.RestartCount != 1 || a.State.Running == nil {
		t.Errorf("after restart: %s; before: id %s restarts %d", describe(after), b.ContainerID, b.RestartCount)
	}
	cs, err := e.cfg.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil || len(cs.Containers) != 2 { // the running one and the one before
		t.Errorf("containers after restart = %d, %v", len(cs.Containers), err)
	}
}
