package apiserver

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// TestProfiling: an authenticated client reads the process's heap profile, as
// `kubectl get --raw /debug/pprof/heap` would; an anonymous one is refused.
func TestProfiling(t *testing.T) {
	kubeconfig := startServer(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := admin.Get(cfg.Host + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "heap profile:") {
		t.Fatalf("heap profile: %d %.200s", resp.StatusCode, body)
	}
	anon := rest.AnonymousClientConfig(cfg)
	anonClient, err := rest.HTTPClientFor(anon)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = anonClient.Get(cfg.Host + "/debug/pprof/heap")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous heap profile: %d, want 401", resp.StatusCode)
	}
}
