package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

const twoNodePods = `apiVersion: v1
kind: Pod
metadata:
  name: on-NODE
spec:
  terminationGracePeriodSeconds: 1
  nodeSelector: {kubernetes.io/hostname: NODE}
  containers:
  - name: c
    image: IMAGE
    command: ["sh", "-c", "echo running on NODE; exec sleep 3600"]
`

// testSecondAgent joins a second node with `klite agent` (its own name,
// data dir, bridge, cgroup root and kubelet port) and runs a pod on each
// node through the scheduler.
func (c *agentCluster) testSecondAgent(t *testing.T) {
	const node2 = "e2e-node-2"
	dir, err := os.MkdirTemp("", "klite-e2e-agent2-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agentRemoveDir(t, dir) })
	logPath := dir + ".log"
	t.Cleanup(func() { os.Remove(logPath) })
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	kubeletPort := freePort(t)
	cmd := exec.Command(kliteBin, "agent", "--server", fmt.Sprintf("https://127.0.0.1:%d", c.securePort),
		"--token-file", filepath.Join(c.dataDir, "server", "node-token"),
		"--ca-file", filepath.Join(c.dataDir, "server", "tls", "ca.crt"),
		"--hostname-override", node2, "--data-dir", dir, "--node-ip", "127.0.0.1",
		"--address", "127.0.0.1", "--port", fmt.Sprint(kubeletPort),
		"--bridge", "klite-e2e2", "--pod-cidr", "10.42.201.0/24", "--cgroup-root", "/klite-e2e-node-2",
		"--runc-root", filepath.Join(dir, "runc"), "--eviction-hard", testEvictionHard)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	ns := c.namespace(t, "two-nodes")
	t.Cleanup(func() {
		_, _ = c.kubectlErr("delete", "namespace", ns, "--wait=false")
		if err := agentPoll(60*time.Second, func() (bool, error) {
			out, err := c.kubectlIn(ns, "", "get", "pods", "-o", "name")
			return err == nil && strings.TrimSpace(out) == "", err
		}); err != nil {
			t.Errorf("pods of the second node not gone: %v", err)
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		_, _ = c.kubectlErr("delete", "node", node2, "--wait=false")
		agentRemoveNodeLeftovers("klite-e2e2", "klite-e2e-node-2")
		if t.Failed() {
			data, _ := os.ReadFile(logPath)
			t.Logf("second agent log:\n%s", data)
		}
	})
	c.waitFor(t, 60*time.Second, "node/"+node2, `{.status.conditions[?(@.type=="Ready")].status}`, equals("True"))
	c.waitNodeReady(c.node)
	for _, n := range []string{c.node, node2} {
		c.apply(t, ns, strings.ReplaceAll(strings.ReplaceAll(twoNodePods, "NODE", n), "IMAGE", c.image))
	}
	for _, n := range []string{c.node, node2} {
		c.waitPodReady(t, ns, "on-"+n)
		c.waitFor(t, 5*time.Second, "pod/on-"+n, "{.spec.nodeName}", equals(n), "-n", ns)
	}
	c.waitFor(t, 5*time.Second, "pod/on-"+node2, "{.status.podIP}", func(s string) bool { return strings.HasPrefix(s, "10.42.201.") }, "-n", ns)
	if out, err := c.kubectlIn(ns, "", "exec", "on-"+c.node, "--", "echo", "exec on", c.node); err != nil || out != "exec on "+c.node+"\n" {
		t.Fatalf("exec in the pod on %s: %q %v", c.node, out, err)
	}
	// The second node's kubelet API, asked directly: the API server's
	// proxying reaches only port 10250 today (see the kubelet's daemonEndpoints).
	if out := c.kubeletGet(t, kubeletPort, "/containerLogs/"+ns+"/on-"+node2+"/c"); out != "running on "+node2+"\n" {
		t.Fatalf("logs of the pod on %s from its kubelet: %q", node2, out)
	}
}

// agentKubeletGet fetches a path of the kubelet API on 127.0.0.1:port
// with the admin's client certificate (the agent trusts the cluster CA's).
func (c *agentCluster) kubeletGet(t *testing.T, port int, path string) string {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := rest.TLSConfigFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg.RootCAs, tlsCfg.InsecureSkipVerify = nil, true // the kubelet's certificate is self-signed
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	resp, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d%s", port, path))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", path, resp.Status, body)
	}
	return string(body)
}

// agentRemoveNodeLeftovers removes what a stopped agent leaves on the
// host by design (its bridge and its empty cgroup parents).
func agentRemoveNodeLeftovers(bridge, cgroupRoot string) {
	_ = exec.Command("ip", "link", "del", bridge).Run()
	dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", cgroupRoot))
	dirs = append(dirs, filepath.Join("/sys/fs/cgroup", cgroupRoot))
	for _, d := range dirs {
		removeCgroupTree(d)
	}
}

// removeCgroupTree removes an empty cgroup and its (empty) children, deepest first.
func removeCgroupTree(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			removeCgroupTree(filepath.Join(dir, e.Name()))
		}
	}
	_ = os.Remove(dir)
}

const restartPods = `apiVersion: v1
kind: Pod
metadata:
  name: steady
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: IMAGE
    command: ["sleep", "3600"]
---
apiVersion: v1
kind: Pod
metadata:
  name: once
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: IMAGE
    command: ["sh", "-c", "if [ ! -e /data/ran ]; then touch /data/ran; exit 1; fi; exec sleep 3600"]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    emptyDir: {}
`

// containersPath prints name=containerID/restartCount/startedAt for every container of every pod.
const containersPath = `{range .items[*]}{.metadata.name}{range .status.containerStatuses[*]}` +
	` {.name}={.containerID}/{.restartCount}/{.state.running.startedAt}{end}{"\n"}{end}`

// testKillAndRestart kills klite server with SIGKILL while pods run,
// starts it again on the same data dir, and finds the same containers
// (IDs, restart counts, start times) running: adopted, not restarted.
func (c *agentCluster) testKillAndRestart(t *testing.T) {
	ns := c.namespace(t, "restart")
	c.apply(t, ns, strings.ReplaceAll(restartPods, "IMAGE", c.image))
	c.waitPodReady(t, ns, "steady")
	c.waitPodReady(t, ns, "once")
	c.waitFor(t, 30*time.Second, "pod/once", "{.status.containerStatuses[0].restartCount}", equals("1"), "-n", ns)
	before := c.containers(t)
	if !strings.Contains(before, "web-") || strings.Count(before, "/1/") < 1 {
		t.Fatalf("expected the web Deployment's pods and a restarted pod:\n%s", before)
	}
	c.kill9()
	c.start(c.dataDir)
	c.waitNodeReady(c.node)
	var after string
	err := agentPoll(60*time.Second, func() (bool, error) {
		after = c.containers(t)
		return after == before, nil
	})
	if err != nil {
		t.Fatalf("containers changed across kill -9 and restart:\nbefore:\n%s\nafter:\n%s\n%s", before, after, c.logTail())
	}
	time.Sleep(5 * time.Second) // a restarted kubelet's workers have synced several times by now
	if again := c.containers(t); again != before {
		t.Fatalf("containers changed after the restart:\nbefore:\n%s\nnow:\n%s", before, again)
	}
	if out, err := c.kubectlIn(ns, "", "exec", "steady", "--", "echo", "still here"); err != nil || out != "still here\n" {
		t.Fatalf("exec after restart: %q %v", out, err)
	}
	c.waitPodReady(t, "web", c.firstPod(t, "web", "app=web"))
}

// containers lists the running containers of the long-lived pods (web and restart namespaces).
func (c *agentCluster) containers(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, ns := range []string{"web", "restart"} {
		out, err := c.kubectlIn(ns, "", "get", "pods", "-o", "jsonpath="+containersPath)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(out)
	}
	return b.String()
}
