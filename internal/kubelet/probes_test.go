package kubelet

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestProbes: readiness (httpGet, tcpSocket) drives Ready; a failing exec
// liveness probe restarts the container; a startup probe gates readiness.
func TestProbes(t *testing.T) {
	e := newEnv(t)
	// Serves HTTP only once /www/ready exists (created after 2 s).
	web := e.pod("web", "mkdir -p /www; (sleep 2; echo ok > /www/ready) & httpd -f -p 8080 -h /www", func(p *corev1.Pod) {
		c := &p.Spec.Containers[0]
		c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
		c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}},
			PeriodSeconds: 1, FailureThreshold: 1}
		c.StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}},
			PeriodSeconds: 1, FailureThreshold: 30}
	})
	e.create(web)
	// Liveness: healthy while /tmp/healthy exists, removed after 1 s.
	live := e.pod("live", "touch /tmp/healthy; sleep 1; rm /tmp/healthy; sleep 3600", func(p *corev1.Pod) {
		p.Spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/tmp/healthy"}}},
			PeriodSeconds: 1, FailureThreshold: 2}
	})
	e.create(live)

	p := e.waitPod("web", 30*time.Second, "Running", running)
	cs := containerStatus(p, "main")
	if cs.Ready {
		t.Errorf("web ready before its readiness probe could pass: %s", describe(p))
	}
	start := time.Now()
	p = e.waitPod("web", 30*time.Second, "Ready", func(p *corev1.Pod) bool { return containerStatus(p, "main").Ready })
	if time.Since(start) < 500*time.Millisecond {
		t.Logf("ready after %v", time.Since(start))
	}
	if cs := containerStatus(p, "main"); cs.Started == nil || !*cs.Started {
		t.Errorf("ready but not started: %+v", cs)
	}

	p = e.waitPod("live", 30*time.Second, "a liveness restart", func(p *corev1.Pod) bool {
		return containerStatus(p, "main").RestartCount >= 1
	})
	evs := e.events("live")
	if !slices.Contains(evs, "Unhealthy") || !slices.Contains(evs, "Killing") {
		t.Errorf("events %v lack Unhealthy/Killing", evs)
	}
	if lt := containerStatus(p, "main").LastTerminationState.Terminated; lt == nil || lt.ExitCode != 137 && lt.ExitCode != 143 {
		t.Errorf("last state after liveness kill = %+v", lt)
	}
}
