package kubelet

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// A container's securityContext reaches its process: no_new_privs only
// where privilege escalation is refused, the user asked for, a read-only
// root filesystem.
func TestSecurityContextReachesTheProcess(t *testing.T) {
	e := newEnv(t)
	no, user, ro := false, int64(1000), true
	show := `echo "nnp=$(grep NoNewPrivs /proc/self/status | tr -dc 0-9) uid=$(id -u)"; touch /probe 2>/dev/null && echo rootfs=rw || echo rootfs=ro`
	p := e.pod("secure", show, func(p *corev1.Pod) {
		p.Spec.RestartPolicy = corev1.RestartPolicyNever
		p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: &no, RunAsUser: &user,
			ReadOnlyRootFilesystem: &ro}
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "plain", Image: e.image,
			ImagePullPolicy: corev1.PullIfNotPresent, Command: []string{"sh", "-c", show}})
	})
	e.create(p)
	e.waitPod("secure", 30*time.Second, "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	for container, want := range map[string]string{"main": "nnp=1 uid=1000\nrootfs=ro", "plain": "nnp=0 uid=0\nrootfs=rw"} {
		if got := strings.TrimSpace(e.logs("secure", container, "")); got != want {
			t.Errorf("%s: output %q, want %q", container, got, want)
		}
	}
}
