package kubelet

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestStaticPod: a manifest runs as a pod named <name>-<node>, mirrored
// into the API server with its status; editing the file restarts it,
// removing the file removes both.
func TestStaticPod(t *testing.T) {
	e := newEnv(t)
	manifest := `apiVersion: v1
kind: Pod
metadata:
  name: static-web
  labels: {tier: control}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ` + e.image + `
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "echo VERSION; while true; do sleep 1; done"]
`
	file := filepath.Join(e.cfg.ManifestPath, "web.yaml")
	if err := os.WriteFile(file, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	m := e.waitPod("static-web-node-1", 30*time.Second, "mirror Running", running)
	if m.Annotations[annConfigMirror] == "" || m.Annotations[annConfigSource] != "file" || m.Spec.NodeName != "node-1" || m.Labels["tier"] != "control" {
		t.Errorf("mirror pod meta = %+v", m.ObjectMeta)
	}
	if len(m.OwnerReferences) != 1 || m.OwnerReferences[0].Kind != "Node" {
		t.Errorf("mirror owner = %v", m.OwnerReferences)
	}
	firstID := containerStatus(m, "main").ContainerID
	if got := e.logs("static-web-node-1", "main", ""); got != "VERSION\n" {
		t.Errorf("static pod logs = %q", got)
	}

	// Deleting the mirror does not stop the static pod: it is recreated.
	ctx := context.Background()
	zero := int64(0)
	if err := e.client.CoreV1().Pods("default").Delete(ctx, m.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	m = e.waitPod("static-web-node-1", 20*time.Second, "a new mirror", func(p *corev1.Pod) bool { return p.UID != m.UID && running(p) })
	if id := containerStatus(m, "main").ContainerID; id != firstID {
		t.Errorf("static pod restarted when its mirror was deleted: %s -> %s", firstID, id)
	}

	// Editing the file replaces the pod.
	if err := os.WriteFile(file, []byte(replace(manifest, "VERSION", "VERSION2")), 0o644); err != nil {
		t.Fatal(err)
	}
	e.waitPod("static-web-node-1", 30*time.Second, "the edited pod", func(p *corev1.Pod) bool {
		cs := containerStatus(p, "main")
		return running(p) && cs != nil && cs.ContainerID != "" && cs.ContainerID != firstID
	})
	if got := e.logs("static-web-node-1", "main", ""); got != "VERSION2\n" {
		t.Errorf("edited static pod logs = %q", got)
	}

	// Removing the file removes the pod and its mirror.
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := e.client.CoreV1().Pods("default").Get(ctx, "static-web-node-1", metav1.GetOptions{})
		sbs, _ := e.cfg.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
		if apierrors.IsNotFound(err) && len(sbs.Items) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("static pod not removed: get err %v, %d sandboxes", err, len(sbs.Items))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func replace(s, old, new string) string { return strings.ReplaceAll(s, old, new) }
