package controllermanager

import (
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klite/klite/internal/kubectltest"

	corev1 "k8s.io/api/core/v1"
)

// kubectl runs the real kubectl against the test cluster.
type kubectl struct {
	t          *testing.T
	kubeconfig string
	ns         string
}

func newKubectl(t *testing.T, ns string) *kubectl {
	t.Helper()
	kubectltest.Path(t)
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: test
  context: {cluster: test, user: admin, namespace: %s}
current-context: test
`, env.Config.Host, base64.StdEncoding.EncodeToString(env.Config.CAData), env.Config.BearerToken, ns)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return &kubectl{t: t, kubeconfig: path, ns: ns}
}

// run runs kubectl and returns its combined output and error.
func (k *kubectl) run(args ...string) (string, error) {
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", k.kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// must runs kubectl and fails the test unless it succeeds with output containing want.
func (k *kubectl) must(want string, args ...string) string {
	k.t.Helper()
	out, err := k.run(args...)
	if err != nil || !strings.Contains(out, want) {
		k.t.Fatalf("kubectl %s: %v\n%s(want %q)", strings.Join(args, " "), err, out, want)
	}
	return out
}

const webManifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  progressDeadlineSeconds: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: c
        image: nginx:1
`

func TestKubectlRollout(t *testing.T) {
	ns := deploymentEnv(t, func(p *corev1.Pod) bool { return p.Spec.Containers[0].Image != "broken" })
	k := newKubectl(t, ns)
	manifest := filepath.Join(t.TempDir(), "web.yaml")
	if err := os.WriteFile(manifest, []byte(webManifest), 0o600); err != nil {
		t.Fatal(err)
	}
	k.must("created", "apply", "-f", manifest)
	k.must("successfully rolled out", "rollout", "status", "deployment/web", "--timeout=60s")

	k.must("image updated", "set", "image", "deployment/web", "c=nginx:2")
	k.must("successfully rolled out", "rollout", "status", "deployment/web", "--timeout=60s")
	hist := k.must("REVISION", "rollout", "history", "deployment/web")
	if !strings.Contains(hist, "1 ") || !strings.Contains(hist, "2 ") {
		t.Fatalf("history:\n%s", hist)
	}

	k.must("rolled back", "rollout", "undo", "deployment/web")
	k.must("successfully rolled out", "rollout", "status", "deployment/web", "--timeout=60s")
	waitImages(t, ns, "nginx:1", 3)

	k.must("restarted", "rollout", "restart", "deployment/web")
	k.must("successfully rolled out", "rollout", "status", "deployment/web", "--timeout=60s")

	k.must("paused", "rollout", "pause", "deployment/web")
	k.must("image updated", "set", "image", "deployment/web", "c=nginx:3")
	time.Sleep(500 * time.Millisecond)
	waitImages(t, ns, "nginx:1", 3) // paused: nothing moves
	k.must("resumed", "rollout", "resume", "deployment/web")
	k.must("successfully rolled out", "rollout", "status", "deployment/web", "--timeout=60s")
	waitImages(t, ns, "nginx:3", 3)

	k.must("scaled", "scale", "deployment/web", "--replicas=5")
	k.must("successfully rolled out", "rollout", "status", "deployment/web", "--timeout=60s")
	waitImages(t, ns, "nginx:3", 5)

	// A rollout that cannot progress: rollout status fails on the deadline.
	k.must("image updated", "set", "image", "deployment/web", "c=broken")
	out, err := k.run("rollout", "status", "deployment/web", "--timeout=60s")
	if err == nil || !strings.Contains(out, "exceeded its progress deadline") {
		t.Fatalf("rollout status of a stuck rollout: %v\n%s", err, out)
	}

	k.must("deleted", "delete", "deployment/web")
	waitPods(t, ns, "web", 0)
}

func waitImages(t *testing.T, ns, image string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		pods := livePods(t, ns, "web")
		ok := len(pods) == n
		for _, p := range pods {
			ok = ok && p.Spec.Containers[0].Image == image
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("want %d pods on %s, have %d", n, image, len(pods))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
