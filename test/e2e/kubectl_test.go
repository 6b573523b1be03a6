package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const manifest = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: {tier: web}
data:
  color: blue
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {tier: web}
spec:
  nodeName: node-a
  containers:
  - name: web
    image: nginx:1.27
---
apiVersion: v1
kind: Pod
metadata:
  name: db
  labels: {tier: db}
spec:
  containers:
  - name: db
    image: postgres:16
`

func TestKubectlBasics(t *testing.T) {
	// Pods here are bound to a node that does not exist: without controllers, so that pod GC
	// leaves them alone while the API behaviour is checked.
	s := startServerArgs(t, t.TempDir(), freePort(t), "--secure-port", fmt.Sprint(freePort(t)), "--disable", "controller-manager,scheduler")
	for _, bin := range kubectlBinaries(t) {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			ns := strings.ReplaceAll(filepath.Base(bin), ".", "-")
			run := func(args ...string) string {
				t.Helper()
				out, err := s.kubectlWith(bin, append([]string{"-n", ns}, args...)...)
				if err != nil {
					t.Fatal(err)
				}
				return out
			}
			run("create", "namespace", ns)
			file := filepath.Join(t.TempDir(), "m.yaml")
			if err := os.WriteFile(file, []byte(manifest), 0o644); err != nil {
				t.Fatal(err)
			}
			out := run("create", "-f", file)
			for _, want := range []string{"configmap/settings created", "pod/web created", "pod/db created"} {
				if !strings.Contains(out, want) {
					t.Fatalf("create output %q lacks %q", out, want)
				}
			}
			var cm struct {
				Metadata struct{ ResourceVersion, UID string }
				Data     map[string]string
			}
			if err := json.Unmarshal([]byte(run("get", "configmap", "settings", "-o", "json")), &cm); err != nil || cm.Data["color"] != "blue" || cm.Metadata.UID == "" {
				t.Fatalf("get -o json: %+v %v", cm, err)
			}
			staleFile := filepath.Join(t.TempDir(), "stale.json")
			stale := run("get", "configmap", "settings", "-o", "json")
			run("label", "configmap", "settings", "changed=yes")
			_ = os.WriteFile(staleFile, []byte(strings.Replace(stale, `"blue"`, `"red"`, 1)), 0o644)
			out, err := s.kubectlWith(bin, "-n", ns, "replace", "-f", staleFile)
			if err == nil || !strings.Contains(out, "the object has been modified") {
				t.Fatalf("replace with stale resourceVersion: %v %q, want a conflict", err, out)
			}
			if got := run("get", "pods", "-l", "tier=web", "-o", "name"); strings.TrimSpace(got) != "pod/web" {
				t.Fatalf("label selector: %q", got)
			}
			if got := run("get", "pods", "--field-selector", "spec.nodeName=node-a", "-o", "name"); strings.TrimSpace(got) != "pod/web" {
				t.Fatalf("field selector: %q", got)
			}
			header := strings.Fields(strings.SplitN(run("get", "pods"), "\n", 2)[0])
			if strings.Join(header, " ") != "NAME READY STATUS RESTARTS AGE" {
				t.Fatalf("pods table header %v", header)
			}
			for i := 0; i < 7; i++ {
				run("create", "configmap", fmt.Sprintf("chunk-%d", i))
			}
			if got := strings.Count(run("get", "configmaps", "--chunk-size", "2", "-o", "name"), "configmap/"); got != 8+1 {
				// 7 chunk-N, settings, and kube-root-ca.crt does not exist yet: 8 in all.
				if got != 8 {
					t.Fatalf("--chunk-size listed %d configmaps, want 8", got)
				}
			}
			run("delete", "pod", "db", "--wait=false")
			run("delete", "configmap", "settings")
			if out, err := s.kubectlWith(bin, "-n", ns, "get", "configmap", "settings"); err == nil || !strings.Contains(out, "NotFound") && !strings.Contains(out, "not found") {
				t.Fatalf("get after delete: %q", out)
			}
		})
	}
}

func TestKubectlWatchEvents(t *testing.T) {
	s := startServer(t, t.TempDir(), freePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", "--kubeconfig", s.kubeconfig, "get", "configmaps", "-w", "--output-watch-events")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	time.Sleep(500 * time.Millisecond)
	s.kubectl("create", "configmap", "watched")
	s.kubectl("label", "configmap", "watched", "x=1")
	s.kubectl("delete", "configmap", "watched")
	want := []string{"ADDED watched", "MODIFIED watched", "DELETED watched"}
	var got []string
	timeout := time.After(20 * time.Second)
	for len(got) < len(want) {
		select {
		case l := <-lines:
			if f := strings.Fields(l); len(f) > 1 && f[1] == "watched" {
				got = append(got, f[0]+" "+f[1])
			}
		case <-timeout:
			t.Fatalf("watch printed %v, want %v", got, want)
		}
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("watch printed %v, want %v", got, want)
	}
}

func TestEtcdctlSeesRegistryKeys(t *testing.T) {
	if _, err := exec.LookPath("etcdctl"); err != nil {
		t.Fatal("etcdctl not installed (Debian etcd-client; hack/test.sh installs it)")
	}
	port := freePort(t)
	s := startServer(t, t.TempDir(), port)
	s.kubectl("create", "configmap", "visible", "--from-literal=k=v")
	cmd := exec.Command("etcdctl", "--endpoints", fmt.Sprintf("http://127.0.0.1:%d", port), "get", "/registry/configmaps/default/visible", "--print-value-only")
	cmd.Env = append(os.Environ(), "ETCDCTL_API=3")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("etcdctl: %v %s", err, out)
	}
	var obj map[string]any
	if err := json.Unmarshal(out, &obj); err != nil || obj["kind"] != "ConfigMap" {
		t.Fatalf("stored value is not the object's JSON: %s", out)
	}
	keys, _ := exec.Command("etcdctl", "--endpoints", fmt.Sprintf("http://127.0.0.1:%d", port), "get", "/registry/namespaces/", "--prefix", "--keys-only").CombinedOutput()
	if !strings.Contains(string(keys), "/registry/namespaces/kube-system") {
		t.Fatalf("namespace keys: %s", keys)
	}
}

// TestKillAndRestartKeepsAcknowledgedWrites kills the server with SIGKILL in the middle of a
// stream of creates and checks that every create kubectl saw succeed is there after a restart.
func TestKillAndRestartKeepsAcknowledgedWrites(t *testing.T) {
	dir, port := t.TempDir(), freePort(t)
	s := startServer(t, dir, port)
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				name := fmt.Sprintf("w%d-%d", w, i)
				if _, err := s.kubectlErr("create", "configmap", name); err != nil {
					return
				}
				mu.Lock()
				acked = append(acked, name)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(3 * time.Second)
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	wg.Wait()
	<-s.exited
	if len(acked) == 0 {
		t.Fatal("no create was acknowledged before the kill")
	}
	s2 := startServer(t, dir, port)
	have := map[string]bool{}
	for _, line := range strings.Fields(s2.kubectl("get", "configmaps", "-o", "name")) {
		have[strings.TrimPrefix(line, "configmap/")] = true
	}
	for _, name := range acked {
		if !have[name] {
			t.Fatalf("acknowledged configmap %s lost after kill -9 and restart (%d acknowledged)", name, len(acked))
		}
	}
	t.Logf("%d acknowledged creates survived kill -9", len(acked))
}

func TestSIGTERMShutsDownCleanly(t *testing.T) {
	s := startServer(t, t.TempDir(), freePort(t))
	watch := exec.Command("kubectl", "--kubeconfig", s.kubeconfig, "get", "pods", "-w")
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	defer watch.Process.Kill()
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		if err != nil {
			t.Fatalf("klite server exited with %v after SIGTERM\n%s", err, s.log)
		}
		s.exited <- nil
	case <-time.After(30 * time.Second):
		t.Fatalf("klite server still running 30s after SIGTERM\n%s", s.log)
	}
	t.Logf("shut down in %v with an open watch", time.Since(start))
}

func TestCompiledInKubectl(t *testing.T) {
	dir := t.TempDir()
	startServer(t, dir, freePort(t))
	cmd := exec.Command(kliteBin, "kubectl", "get", "namespaces", "-o", "name")
	cmd.Env = append(os.Environ(), "KLITE_DATA_DIR="+dir, "KUBECONFIG=")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "namespace/kube-system") {
		t.Fatalf("klite kubectl get namespaces: %v\n%s", err, out)
	}
}
