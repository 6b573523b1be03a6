package kubelet

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestFailureReasons: the waiting and terminated reasons kubectl shows for
// a missing image and for a container killed by its memory limit.
func TestFailureReasons(t *testing.T) {
	e := newEnv(t)
	e.create(e.pod("noimage", "true", func(p *corev1.Pod) {
		p.Spec.Containers[0].Image = e.image[:len(e.image)-len("busybox:1.36")] + "missing:1"
	}))
	e.create(e.pod("oom", "head -c 200m /dev/zero | tail", func(p *corev1.Pod) {
		p.Spec.RestartPolicy = corev1.RestartPolicyNever
		p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: mustQ("16Mi")}
	}))
	seen := map[string]bool{}
	e.waitPod("noimage", 30*time.Second, "ErrImagePull then ImagePullBackOff", func(p *corev1.Pod) bool {
		if cs := containerStatus(p, "main"); cs != nil && cs.State.Waiting != nil {
			seen[cs.State.Waiting.Reason] = true
		}
		return seen["ErrImagePull"] && seen["ImagePullBackOff"]
	})
	p := e.waitPod("oom", 30*time.Second, "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if cs := containerStatus(p, "main"); cs == nil || cs.State.Terminated == nil || cs.State.Terminated.Reason != "OOMKilled" {
		t.Errorf("oom container: %s", describe(p))
	}
}
