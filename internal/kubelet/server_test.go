package kubelet

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
)

func (e *env) restConfig() *rest.Config {
	return &rest.Config{Host: "https://" + e.kubelet.Addr(), TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
}

// exec runs a command in a container through the kubelet's /exec (SPDY).
func (e *env) exec(pod, container string, cmd ...string) string {
	e.t.Helper()
	q := url.Values{"command": cmd, "stdout": {"true"}, "stderr": {"true"}}
	u, _ := url.Parse("https://" + e.kubelet.Addr() + "/exec/default/" + pod + "/" + container + "?" + q.Encode())
	ex, err := remotecommand.NewSPDYExecutor(e.restConfig(), http.MethodPost, u)
	if err != nil {
		e.t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &out, Stderr: &errOut}); err != nil {
		e.t.Fatalf("exec %v: %v (%s)", cmd, err, errOut.String())
	}
	return strings.TrimSpace(out.String())
}

// TestKubeletAPI: pods, containerLogs (tail, timestamps, follow), exec with
// stdin, and port-forward through the kubelet's server.
func TestKubeletAPI(t *testing.T) {
	e := newEnv(t)
	e.create(e.pod("api", "for i in 1 2 3; do echo line$i; done; httpd -p 8080 -h /etc; sleep 1; echo late; while true; do sleep 1; done"))
	e.waitPod("api", 30*time.Second, "Running", running)

	if body, code := e.get("/pods"); code != 200 || !strings.Contains(body, `"name":"api"`) {
		t.Errorf("/pods = %d %s", code, body)
	}
	if got := e.logs("api", "main", "?tailLines=1&follow=false"); got != "line3\n" && got != "late\n" {
		t.Errorf("tailLines=1 = %q", got)
	}
	if got := e.logs("api", "main", "?timestamps=true&tailLines=3"); !strings.Contains(got, "Z line") && !strings.Contains(got, "Z late") {
		t.Errorf("timestamps = %q", got)
	}
	// follow streams the line written a second later.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, code := e.get("/containerLogs/default/api/nope"); code != http.StatusNotFound {
		t.Errorf("logs of a missing container: %d", code)
	}
	followed := e.followUntil(ctx, "/containerLogs/default/api/main?follow=true", "late\n")
	if !strings.HasPrefix(followed, "line1\nline2\nline3\n") {
		t.Errorf("follow = %q", followed)
	}

	if got := e.exec("api", "main", "sh", "-c", "echo $((6*7)); hostname"); got != "42\napi" {
		t.Errorf("exec = %q", got)
	}
	// stdin through exec.
	q := url.Values{"command": {"cat"}, "stdin": {"true"}, "stdout": {"true"}}
	u, _ := url.Parse("https://" + e.kubelet.Addr() + "/exec/default/api/main?" + q.Encode())
	ex, err := remotecommand.NewSPDYExecutor(e.restConfig(), http.MethodPost, u)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: strings.NewReader("piped\n"), Stdout: &out}); err != nil || out.String() != "piped\n" {
		t.Errorf("exec stdin = %q, %v", out.String(), err)
	}
	e.portForward(ctx)
}

func (e *env) followUntil(ctx context.Context, path, want string) string {
	e.t.Helper()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: e.tlsInsecure()}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+e.kubelet.Addr()+path, nil)
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(got, []byte(want)) {
		n, err := resp.Body.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			e.t.Fatalf("follow ended before %q: %q, %v", want, got, err)
		}
	}
	return string(got)
}

// portForward fetches httpd's /hostname through the kubelet's portForward.
func (e *env) portForward(ctx context.Context) {
	t := e.t
	tr, upgrader, err := spdy.RoundTripperFor(e.restConfig())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("https://" + e.kubelet.Addr() + "/portForward/default/api")
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: tr}, http.MethodPost, u)
	stop, ready := make(chan struct{}), make(chan struct{})
	defer close(stop)
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:8080"}, stop, ready, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = fw.ForwardPorts() }()
	select {
	case <-ready:
	case <-ctx.Done():
		t.Fatal("port-forward not ready")
	}
	ports, err := fw.GetPorts()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://127.0.0.1:" + itoa(int(ports[0].Local)) + "/hostname")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	if strings.TrimSpace(b.String()) != "api" {
		t.Errorf("port-forward GET /hostname = %q", b.String())
	}
	_ = corev1.PodRunning
}
