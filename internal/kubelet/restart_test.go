package kubelet

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestCrashLoopBackOff: a crashing container restarts with a growing
// back-off (1 s, 2 s, 4 s in tests), shows CrashLoopBackOff and its last
// termination, and emits BackOff events.
func TestCrashLoopBackOff(t *testing.T) {
	e := newEnv(t)
	e.create(e.pod("crash", "echo boom; exit 3"))
	p := e.waitPod("crash", 30*time.Second, "CrashLoopBackOff after 2 restarts", func(p *corev1.Pod) bool {
		cs := containerStatus(p, "main")
		return cs != nil && cs.RestartCount >= 2 && cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff"
	})
	cs := containerStatus(p, "main")
	if lt := cs.LastTerminationState.Terminated; lt == nil || lt.ExitCode != 3 || lt.Reason != "Error" {
		t.Errorf("lastState = %+v", cs.LastTerminationState)
	}
	if !strings.Contains(cs.State.Waiting.Message, "back-off") || p.Status.Phase != corev1.PodRunning {
		t.Errorf("waiting = %+v phase %s", cs.State.Waiting, p.Status.Phase)
	}
	if !slices.Contains(e.events("crash"), "BackOff") {
		t.Errorf("no BackOff event: %v", e.events("crash"))
	}
	if logs := e.logs("crash", "main", "?previous=true"); logs != "boom\n" {
		t.Errorf("previous logs = %q", logs)
	}
	// Restarts are spaced by a growing back-off: from restart 2 to 4 takes
	// at least 2 s + 4 s... we check the gaps between consecutive starts grow.
	var starts []time.Time
	deadline := time.Now().Add(25 * time.Second)
	for time.Now().Before(deadline) && len(starts) < 3 {
		p := e.waitPod("crash", 20*time.Second, "a terminated state", func(*corev1.Pod) bool { return true })
		cs := containerStatus(p, "main")
		term := cs.LastTerminationState.Terminated
		if cs.State.Terminated != nil {
			term = cs.State.Terminated
		}
		// One run per start time: a status written between a restart and the next may still
		// show the previous run.
		if term != nil && (len(starts) == 0 || !term.StartedAt.Time.Equal(starts[len(starts)-1])) {
			starts = append(starts, term.StartedAt.Time)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(starts) < 3 {
		t.Fatalf("saw only %d restarts", len(starts))
	}
	if g1, g2 := starts[1].Sub(starts[0]), starts[2].Sub(starts[1]); g2 <= g1 {
		t.Errorf("back-off did not grow: gaps %v then %v", g1, g2)
	}
}

// TestRestartPolicies: completions under Never and OnFailure reach the
// terminal phases kubectl shows (Completed / Error), without restarts.
func TestRestartPolicies(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, script string
		policy       corev1.RestartPolicy
		phase        corev1.PodPhase
		reason       string
		exit         int32
		restarts     int32
	}{
		{"never-ok", "echo done", corev1.RestartPolicyNever, corev1.PodSucceeded, "Completed", 0, 0},
		{"never-fail", "exit 7", corev1.RestartPolicyNever, corev1.PodFailed, "Error", 7, 0},
		{"onfailure-ok", "echo done", corev1.RestartPolicyOnFailure, corev1.PodSucceeded, "Completed", 0, 0},
		{"onfailure-retry", "test -f /tmp/x && exit 0; touch /tmp/x; exit 1", corev1.RestartPolicyOnFailure, corev1.PodSucceeded, "Completed", 0, 1},
	}
	for _, tc := range cases {
		e.create(e.pod(tc.name, tc.script, func(p *corev1.Pod) {
			p.Spec.RestartPolicy = tc.policy
			p.Spec.Volumes = []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}}
		}))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := e.waitPod(tc.name, 30*time.Second, string(tc.phase), func(p *corev1.Pod) bool { return p.Status.Phase == tc.phase })
			cs := containerStatus(p, "main")
			if term := cs.State.Terminated; term == nil || term.Reason != tc.reason || term.ExitCode != tc.exit || cs.RestartCount != tc.restarts {
				t.Errorf("status = %s", describe(p))
			}
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && (c.Status != corev1.ConditionFalse || c.Reason != "PodCompleted") {
					t.Errorf("Ready = %+v", c)
				}
			}
		})
	}
}
