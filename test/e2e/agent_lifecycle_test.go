package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const crashPod = `apiVersion: v1
kind: Pod
metadata:
  name: crasher
spec:
  containers:
  - name: crasher
    image: IMAGE
    command: ["sh", "-c", "echo crashing; exit 1"]
`

// testCrashLoop: a container that keeps exiting reaches CrashLoopBackOff,
// and the back-off grows (10 s, then 20 s) while restartCount climbs.
func (c *agentCluster) testCrashLoop(t *testing.T) {
	ns := c.namespace(t, "crash")
	c.apply(t, ns, strings.ReplaceAll(crashPod, "IMAGE", c.image))
	const path = `{.status.containerStatuses[0].restartCount}/{.status.containerStatuses[0].state.waiting.reason}/{.status.containerStatuses[0].state.waiting.message}`
	first := c.waitFor(t, 60*time.Second, "pod/crasher", path, func(s string) bool {
		return strings.Contains(s, "/CrashLoopBackOff/back-off 10s ")
	}, "-n", ns)
	second := c.waitFor(t, 60*time.Second, "pod/crasher", path, func(s string) bool {
		return strings.Contains(s, "/CrashLoopBackOff/back-off 20s ")
	}, "-n", ns)
	n1, _ := strconv.Atoi(strings.Split(first, "/")[0])
	n2, _ := strconv.Atoi(strings.Split(second, "/")[0])
	if n1 < 1 || n2 <= n1 {
		t.Fatalf("restartCount did not grow with the back-off: %q then %q", first, second)
	}
	c.waitFor(t, 10*time.Second, "pod/crasher", `{.status.containerStatuses[0].lastState.terminated.exitCode}`, equals("1"), "-n", ns)
	events, err := c.kubectlIn(ns, "", "get", "events", "--field-selector", "involvedObject.name=crasher,reason=BackOff", "-o", "name")
	if err != nil || strings.TrimSpace(events) == "" {
		t.Fatalf("no BackOff event: %v %q", err, events)
	}
	if out, err := c.kubectlIn(ns, "", "get", "pod", "crasher"); err != nil || !strings.Contains(out, "CrashLoopBackOff") {
		t.Fatalf("kubectl get pod does not show CrashLoopBackOff: %v\n%s", err, out)
	}
	if out, err := c.kubectlIn(ns, "", "logs", "crasher", "--previous"); err != nil || !strings.Contains(out, "crashing") {
		t.Fatalf("logs --previous: %v %q", err, out)
	}
}

const livenessPod = `apiVersion: v1
kind: Pod
metadata:
  name: unhealthy
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: IMAGE
    command: ["sh", "-c", "touch /tmp/ok; sleep 4; rm /tmp/ok; sleep 3600"]
    livenessProbe:
      exec: {command: ["cat", "/tmp/ok"]}
      periodSeconds: 1
      failureThreshold: 2
`

// testLiveness: a failing liveness probe restarts the container.
func (c *agentCluster) testLiveness(t *testing.T) {
	ns := c.namespace(t, "liveness")
	c.apply(t, ns, strings.ReplaceAll(livenessPod, "IMAGE", c.image))
	c.waitFor(t, 60*time.Second, "pod/unhealthy", `{.status.containerStatuses[0].restartCount}`, func(s string) bool {
		n, _ := strconv.Atoi(s)
		return n >= 1
	}, "-n", ns)
	events, err := c.kubectlIn(ns, "", "get", "events", "--field-selector", "involvedObject.name=unhealthy", "-o",
		"custom-columns=REASON:.reason,MESSAGE:.message", "--no-headers")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Liveness probe failed", "failed liveness probe, will be restarted"} {
		if !strings.Contains(events, want) {
			t.Errorf("no event %q in:\n%s", want, events)
		}
	}
}

const oomPod = `apiVersion: v1
kind: Pod
metadata:
  name: oom
spec:
  containers:
  - name: hog
    image: IMAGE
    command: ["tail", "/dev/zero"]
    resources:
      limits: {memory: 32Mi}
`

// testOOMKilled: a container over its memory limit is killed and reported OOMKilled.
func (c *agentCluster) testOOMKilled(t *testing.T) {
	ns := c.namespace(t, "oom")
	c.apply(t, ns, strings.ReplaceAll(oomPod, "IMAGE", c.image))
	c.waitFor(t, 60*time.Second, "pod/oom",
		`{.status.containerStatuses[0].lastState.terminated.reason}/{.status.containerStatuses[0].lastState.terminated.exitCode}`,
		equals("OOMKilled/137"), "-n", ns)
}

const job = `apiVersion: batch/v1
kind: Job
metadata:
  name: once
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: work
        image: IMAGE
        command: ["sh", "-c", "echo job ran; sleep 1"]
`

// testJob runs a Job to completion.
func (c *agentCluster) testJob(t *testing.T) {
	ns := c.namespace(t, "job")
	c.apply(t, ns, strings.ReplaceAll(job, "IMAGE", c.image))
	if out, err := c.kubectlIn(ns, "", "wait", "--for=condition=complete", "job/once", "--timeout=90s"); err != nil {
		yaml, _ := c.kubectlIn(ns, "", "get", "job,pods", "-o", "yaml")
		t.Fatalf("%v %s\n%s", err, out, yaml)
	}
	if out, err := c.kubectlIn(ns, "", "logs", "job/once"); err != nil || out != "job ran\n" {
		t.Fatalf("job logs: %q %v", out, err)
	}
	c.waitFor(t, 10*time.Second, "pods", `{.items[*].status.phase}/{.items[*].status.containerStatuses[0].state.terminated.reason}`,
		equals("Succeeded/Completed"), "-n", ns, "-l", "job-name=once")
}

const staticPod = `apiVersion: v1
kind: Pod
metadata:
  name: static-web
  namespace: default
spec:
  containers:
  - name: web
    image: IMAGE
    command: ["sh", "-c", "echo static $(hostname); exec sleep 3600"]
`

// testStaticPod runs a pod from <data-dir>/manifests and checks its mirror
// pod <name>-<node> in the API server; removing the file removes both.
func (c *agentCluster) testStaticPod(t *testing.T) {
	file := filepath.Join(c.dataDir, "manifests", "static-web.yaml")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(strings.ReplaceAll(staticPod, "IMAGE", c.image)), 0o644); err != nil {
		t.Fatal(err)
	}
	mirror := "static-web-" + c.node
	c.waitPodReady(t, "default", mirror)
	c.waitFor(t, 10*time.Second, "pod/"+mirror, `{.metadata.annotations.kubernetes\.io/config\.mirror}/{.spec.nodeName}`,
		func(s string) bool { return strings.HasSuffix(s, "/"+c.node) && len(s) > len(c.node)+1 }, "-n", "default")
	if out, err := c.kubectlIn("default", "", "logs", mirror); err != nil || !strings.HasPrefix(out, "static ") {
		t.Fatalf("logs of the static pod through its mirror: %q %v", out, err)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if err := agentPoll(60*time.Second, func() (bool, error) {
		out, err := c.kubectlIn("default", "", "get", "pod", mirror, "--ignore-not-found", "-o", "name")
		return err == nil && out == "", err
	}); err != nil {
		t.Fatalf("mirror pod not removed with its manifest: %v", err)
	}
}

const configMapPod = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  color: COLOR
---
apiVersion: v1
kind: Pod
metadata:
  name: reader
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: reader
    image: IMAGE
    command: ["sleep", "3600"]
    volumeMounts: [{name: cfg, mountPath: /cfg}]
  volumes:
  - name: cfg
    configMap: {name: settings}
`

// testConfigMapVolume: after kubectl apply of a changed ConfigMap the
// mounted file changes in place, in the same container.
func (c *agentCluster) testConfigMapVolume(t *testing.T) {
	ns := c.namespace(t, "cm")
	manifest := strings.ReplaceAll(configMapPod, "IMAGE", c.image)
	c.apply(t, ns, strings.ReplaceAll(manifest, "COLOR", "blue"))
	c.waitPodReady(t, ns, "reader")
	if out, err := c.kubectlIn(ns, "", "exec", "reader", "--", "cat", "/cfg/color"); err != nil || out != "blue" {
		t.Fatalf("configMap file: %q %v", out, err)
	}
	const idPath = `{.status.containerStatuses[0].containerID}/{.status.containerStatuses[0].restartCount}`
	before := c.waitFor(t, 5*time.Second, "pod/reader", idPath, func(string) bool { return true }, "-n", ns)
	c.apply(t, ns, strings.ReplaceAll(manifest, "COLOR", "green"))
	var last string
	if err := agentPoll(60*time.Second, func() (bool, error) {
		out, err := c.kubectlIn(ns, "", "exec", "reader", "--", "cat", "/cfg/color")
		last = out
		return out == "green", err
	}); err != nil {
		t.Fatalf("configMap file not updated: last %q: %v", last, err)
	}
	if after := c.waitFor(t, 5*time.Second, "pod/reader", idPath, func(string) bool { return true }, "-n", ns); after != before {
		t.Fatalf("container changed while the configMap updated: %s -> %s", before, after)
	}
}
