package e2e

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestAgent drives one `klite server` with its local agent through the
// real kubectl: workloads, the kubelet's streaming API, container
// lifecycle, static pods, a second agent, and finally kill -9 and restart.
func TestAgent(t *testing.T) {
	c := newAgentCluster(t)
	t.Run("cluster", func(t *testing.T) {
		t.Run("Deployment", func(t *testing.T) { t.Parallel(); c.testDeployment(t) })
		t.Run("CrashLoopBackOff", func(t *testing.T) { t.Parallel(); c.testCrashLoop(t) })
		t.Run("Liveness", func(t *testing.T) { t.Parallel(); c.testLiveness(t) })
		t.Run("OOMKilled", func(t *testing.T) { t.Parallel(); c.testOOMKilled(t) })
		t.Run("Job", func(t *testing.T) { t.Parallel(); c.testJob(t) })
		t.Run("StaticPod", func(t *testing.T) { t.Parallel(); c.testStaticPod(t) })
		t.Run("ConfigMapVolume", func(t *testing.T) { t.Parallel(); c.testConfigMapVolume(t) })
	})
	// The second node joins only once the tests above are done: while it exists the scheduler may
	// place their pods on it, and they would go with it.
	t.Run("SecondAgent", c.testSecondAgent)
	t.Run("KillAndRestart", c.testKillAndRestart)
}

const webDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: httpd
        image: IMAGE
        command: ["sh", "-c", "mkdir -p /www && echo hello from $(hostname) > /www/index.html && exec httpd -f -p 8080 -h /www"]
        ports: [{containerPort: 8080, name: http}]
        readinessProbe:
          httpGet: {path: /index.html, port: http}
          periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata:
  name: talker
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: talker
    image: IMAGE
    command: ["sh", "-c", "i=0; while true; do echo line-$i; i=$((i+1)); sleep 0.3; done"]
---
apiVersion: v1
kind: Pod
metadata:
  name: listener
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: listener
    image: IMAGE
    stdin: true
    command: ["sh", "-c", "while read l; do echo got:$l; done"]
`

// testDeployment rolls out an HTTP Deployment with a readiness probe and
// then uses every streaming kubectl command against its pods with each
// kubectl version.
func (c *agentCluster) testDeployment(t *testing.T) {
	ns := c.namespace(t, "web")
	c.apply(t, ns, strings.ReplaceAll(webDeployment, "IMAGE", c.image))
	if out, err := c.kubectlIn(ns, "", "rollout", "status", "deployment/web", "--timeout=90s"); err != nil {
		t.Fatalf("%v\n%s", err, c.logTail())
	} else if !strings.Contains(out, "successfully rolled out") {
		t.Fatalf("rollout status: %s", out)
	}
	ready := c.waitFor(t, 30*time.Second, "deployment/web", "{.status.readyReplicas}", equals("2"), "-n", ns)
	t.Logf("deployment web: %s ready replicas", ready)
	pod := c.firstPod(t, ns, "app=web")
	c.waitPodReady(t, ns, "talker")
	c.waitPodReady(t, ns, "listener")
	for _, bin := range kubectlBinaries(t) {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			t.Run("logs-f", func(t *testing.T) { c.testLogsFollow(t, bin, ns) })
			t.Run("exec", func(t *testing.T) { c.testExec(t, bin, ns, pod) })
			t.Run("exec-tty", func(t *testing.T) { c.testExecTTY(t, bin, ns, pod) })
			t.Run("attach", func(t *testing.T) { c.testAttach(t, bin, ns) })
			t.Run("port-forward", func(t *testing.T) { c.testPortForward(t, bin, ns, pod) })
			t.Run("cp", func(t *testing.T) { c.testCp(t, bin, ns, pod) })
		})
	}
	c.reportProtocol(t, ns, pod)
}

// firstPod is the name of a pod matching selector.
func (c *agentCluster) firstPod(t *testing.T, ns, selector string) string {
	t.Helper()
	out, err := c.kubectlIn(ns, "", "get", "pods", "-l", selector, "-o", "jsonpath={.items[0].metadata.name}")
	if err != nil || out == "" {
		t.Fatalf("no pod for %s: %v %s", selector, err, out)
	}
	return out
}

var lineRE = regexp.MustCompile(`line-(\d+)`)

// testLogsFollow: kubectl logs -f sees lines appended after it started.
func (c *agentCluster) testLogsFollow(t *testing.T, bin, ns string) {
	s := c.stream(t, bin, "-n", ns, "logs", "-f", "talker")
	s.waitOutput(t, "line-", 20*time.Second)
	ms := lineRE.FindAllStringSubmatch(s.output(), -1)
	n, _ := strconv.Atoi(ms[len(ms)-1][1])
	s.waitOutput(t, fmt.Sprintf("line-%d\n", n+3), 20*time.Second)
}

// testExec: output, stdin and the exit code travel through kubectl exec.
func (c *agentCluster) testExec(t *testing.T, bin, ns, pod string) {
	out, err := c.run(bin, "", "-n", ns, "exec", pod, "--", "cat", "/www/index.html")
	if err != nil || !strings.HasPrefix(out, "hello from "+pod) {
		t.Fatalf("exec cat: %q %v", out, err)
	}
	out, err = c.run(bin, "one\ntwo\nthree\n", "-n", ns, "exec", "-i", pod, "--", "wc", "-l")
	if err != nil || strings.TrimSpace(out) != "3" {
		t.Fatalf("exec -i wc -l: %q %v", out, err)
	}
	_, err = c.run(bin, "", "-n", ns, "exec", pod, "--", "sh", "-c", "exit 7")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Fatalf("exec exit 7: kubectl returned %v, want exit status 7", err)
	}
	if _, err = c.run(bin, "", "-n", ns, "exec", pod, "--", "no-such-binary"); err == nil {
		t.Fatal("exec of a missing binary succeeded")
	}
}

// testExecTTY runs kubectl exec -it under a pseudo-terminal, types
// commands and reads their answers: the container sees a TTY of the
// terminal's size.
func (c *agentCluster) testExecTTY(t *testing.T, bin, ns, pod string) {
	cmd := exec.Command(bin, "--kubeconfig", c.kubeconfig, "-n", ns, "exec", "-it", pod, "--", "sh")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 37, Cols: 111})
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	var mu sync.Mutex
	var out strings.Builder
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				break
			}
		}
		done <- cmd.Wait()
	}()
	got := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
	wait := func(want string) {
		t.Helper()
		if err := agentPoll(20*time.Second, func() (bool, error) { return strings.Contains(got(), want), nil }); err != nil {
			_ = cmd.Process.Kill()
			t.Fatalf("no %q from exec -it: %q", want, got())
		}
	}
	time.Sleep(500 * time.Millisecond) // let sh print its prompt
	io.WriteString(tty, "tty; stty size; echo sum=$((40+2))\r")
	wait("sum=42")
	wait("/dev/pts/")
	wait("37 111")
	io.WriteString(tty, "exit 3\r")
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 3 {
			t.Fatalf("exec -it exit 3: kubectl returned %v\n%q", err, got())
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("kubectl exec -it did not exit after 'exit 3': %q", got())
	}
}

// testAttach: kubectl attach -i reaches the container's stdin and stdout.
func (c *agentCluster) testAttach(t *testing.T, bin, ns string) {
	s := c.stream(t, bin, "-n", ns, "attach", "-i", "listener")
	word := "hello-" + strings.ReplaceAll(filepath.Base(bin), ".", "-")
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(s.output(), "got:"+word) {
		if time.Now().After(deadline) {
			t.Fatalf("attach: no got:%s in %q", word, s.output())
		}
		io.WriteString(s.stdin, word+"\n") // again: the stream may not have been up yet
		time.Sleep(500 * time.Millisecond)
	}
}

// testPortForward fetches the pod's page through kubectl port-forward.
func (c *agentCluster) testPortForward(t *testing.T, bin, ns, pod string) {
	port := freePort(t)
	s := c.stream(t, bin, "-n", ns, "port-forward", "--address", "127.0.0.1", "pod/"+pod, fmt.Sprintf("%d:8080", port))
	s.waitOutput(t, "Forwarding from", 20*time.Second)
	for i := 0; i < 3; i++ {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/index.html", port))
		if err != nil {
			t.Fatalf("GET through port-forward: %v\n%s", err, s.output())
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.HasPrefix(string(body), "hello from "+pod) {
			t.Fatalf("GET through port-forward: %d %q", resp.StatusCode, body)
		}
	}
}

// testCp copies a file into the pod and one out of it.
func (c *agentCluster) testCp(t *testing.T, bin, ns, pod string) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	want := "copied in by " + filepath.Base(bin) + "\n"
	if err := os.WriteFile(in, []byte(want), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := "/tmp/in-" + strings.ReplaceAll(filepath.Base(bin), ".", "-")
	if out, err := c.run(bin, "", "-n", ns, "cp", in, pod+":"+dst); err != nil {
		t.Fatalf("cp in: %v %s", err, out)
	}
	if out, err := c.run(bin, "", "-n", ns, "exec", pod, "--", "cat", dst); err != nil || out != want {
		t.Fatalf("file copied in: %q %v", out, err)
	}
	local := filepath.Join(dir, "out.html")
	if out, err := c.run(bin, "", "-n", ns, "cp", pod+":/www/index.html", local); err != nil {
		t.Fatalf("cp out: %v %s", err, out)
	}
	if data, err := os.ReadFile(local); err != nil || !strings.HasPrefix(string(data), "hello from "+pod) {
		t.Fatalf("file copied out: %q %v", data, err)
	}
}

// reportProtocol logs which streaming protocol each kubectl ended up on
// for exec and port-forward (kubectl 1.31+ try WebSocket first and fall
// back to SPDY), read from its -v=8 output.
func (c *agentCluster) reportProtocol(t *testing.T, ns, pod string) {
	for _, bin := range kubectlBinaries(t) {
		out, err := exec.Command(bin, "--kubeconfig", c.kubeconfig, "-n", ns, "exec", pod, "-v=8", "--", "true").CombinedOutput()
		if err != nil {
			t.Errorf("%s exec -v=8: %v", bin, err)
		}
		port := freePort(t)
		s := c.stream(t, bin, "-n", ns, "port-forward", "-v=8", "--address", "127.0.0.1", "pod/"+pod, fmt.Sprintf("%d:8080", port))
		s.waitOutput(t, "Forwarding from", 20*time.Second)
		if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/index.html", port)); err == nil {
			resp.Body.Close()
		}
		s.stop()
		t.Logf("%s: exec over %s; port-forward over %s", filepath.Base(bin), streamProtocol(string(out)), streamProtocol(s.output()))
	}
}

// streamProtocol names the protocol a kubectl -v=8 transcript shows it negotiated.
func streamProtocol(v8 string) string {
	header := func(name string) string {
		val := ""
		for _, l := range strings.Split(v8, "\n") {
			if _, rest, ok := strings.Cut(l, name+": "); ok {
				val = strings.TrimSpace(rest)
			}
		}
		return val
	}
	proto := "unknown"
	switch {
	case strings.Contains(v8, "Upgrade: websocket"):
		proto = "WebSocket " + header("Sec-Websocket-Protocol")
	case header("X-Stream-Protocol-Version") != "":
		proto = "SPDY " + header("X-Stream-Protocol-Version")
	case strings.Contains(v8, "Upgrade: SPDY/3.1"):
		proto = "SPDY/3.1"
	}
	if strings.Contains(strings.ToLower(v8), "fallback") || strings.Contains(strings.ToLower(v8), "falling back") {
		proto += " (after falling back)"
	}
	return proto
}
