package apiserver_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/apiserver"
	"github.com/klite/klite/internal/apiserver/apiservertest"
	"github.com/klite/klite/internal/apiserver/auth"
)

// TestPodLogsAreProxiedToTheKubelet checks the API server's half of `kubectl logs`: it finds the
// pod's node and forwards the request, with the container resolved, to that node's kubelet API.
// The kubelet is a separate component (internal/kubelet); here a minimal HTTPS endpoint stands in
// for its containerLogs handler so that this package's test does not need a running node.
func TestPodLogsAreProxiedToTheKubelet(t *testing.T) {
	var mu sync.Mutex
	var got []string
	kubelet := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.Path+"?"+r.URL.RawQuery)
		mu.Unlock()
		_, _ = io.WriteString(w, "line 1\nline 2\n")
	}))
	defer kubelet.Close()
	c := apiservertest.StartT(t, apiservertest.Options{Configure: func(cfg *apiserver.Config) {
		cfg.KubeletClient = &tls.Config{InsecureSkipVerify: true}
	}})
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(kubelet.URL, "https://"))
	p, _ := strconv.Atoi(port)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{
		Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: host}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(p)}},
	}}
	if _, err := c.Client.CoreV1().Nodes().Create(ctx(t), node, createOpts); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.CoreV1().Pods("default").Create(ctx(t), pod("web").node("n1").obj(), createOpts); err != nil {
		t.Fatal(err)
	}
	two := pod("two").node("n1").obj()
	two.Spec.Containers = append(two.Spec.Containers, corev1.Container{Name: "side", Image: "busybox"})
	if _, err := c.Client.CoreV1().Pods("default").Create(ctx(t), two, createOpts); err != nil {
		t.Fatal(err)
	}
	tail := int64(5)
	body, err := c.Client.CoreV1().Pods("default").GetLogs("web", &corev1.PodLogOptions{Follow: true, TailLines: &tail}).DoRaw(ctx(t))
	if err != nil || string(body) != "line 1\nline 2\n" {
		t.Fatalf("logs: %q %v", body, err)
	}
	mu.Lock()
	if len(got) != 1 || !strings.HasPrefix(got[0], "/containerLogs/default/web/c?") || !strings.Contains(got[0], "follow=true") || !strings.Contains(got[0], "tailLines=5") {
		t.Fatalf("kubelet saw %v", got)
	}
	mu.Unlock()
	_, err = c.Client.CoreV1().Pods("default").GetLogs("two", &corev1.PodLogOptions{}).DoRaw(ctx(t))
	if !apierrors.IsBadRequest(err) {
		t.Fatalf("logs of a two-container pod without a container: %v", err)
	}
	if _, err := c.Client.CoreV1().Pods("default").Create(ctx(t), pod("pending").obj(), createOpts); err != nil {
		t.Fatal(err)
	}
	_, err = c.Client.CoreV1().Pods("default").GetLogs("pending", &corev1.PodLogOptions{}).DoRaw(ctx(t))
	if !apierrors.IsBadRequest(err) {
		t.Fatalf("logs of an unscheduled pod: %v, want BadRequest", err)
	}
}

// verbDenier refuses one verb on one subresource and allows everything else.
type verbDenier struct{ verb, sub string }

func (d verbDenier) Authorize(_ context.Context, a auth.Attributes) (bool, string, error) {
	if a.Verb == d.verb && a.Subresource == d.sub {
		return false, "denied by test", nil
	}
	return true, "", nil
}

// TestWebSocketExecNeedsCreate checks that a WebSocket exec, which kubectl opens with GET, is
// authorised as create: a user who may only read pods cannot exec through the back door.
func TestWebSocketExecNeedsCreate(t *testing.T) {
	c := apiservertest.StartT(t, apiservertest.Options{Configure: func(cfg *apiserver.Config) {
		cfg.Authorizer = verbDenier{verb: "create", sub: "exec"}
	}})
	req, err := http.NewRequest(http.MethodGet, c.HTTP.URL+"/api/v1/namespaces/default/pods/web/exec?command=ls&stdout=true", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiservertest.Token)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	req.Header.Set("Sec-WebSocket-Protocol", "v5.channel.k8s.io")
	resp, err := c.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), `cannot create resource \"pods/exec\" in API group \"\" in the namespace \"default\": denied by test`) {
		t.Fatalf("WebSocket exec without create permission: %d %s", resp.StatusCode, body)
	}
}
