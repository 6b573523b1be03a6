package streaming

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// proxyChain puts two reverse proxies in front of the streaming server, set
// up as klite's kubelet (plain HTTP to the streaming URL) and API server
// (TLS, HTTP/1.1 only, no response buffering) proxy streaming requests, and
// returns the outer proxy's URL.
func proxyChain(t *testing.T, s *Server) string {
	t.Helper()
	target, _ := url.Parse(s.URL())
	kubelet := httptest.NewTLSServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = target.Host
	}})
	t.Cleanup(kubelet.Close)
	kubeletURL, _ := url.Parse(kubelet.URL)
	toKubelet := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, TLSHandshakeTimeout: 10 * time.Second}
	t.Cleanup(toKubelet.CloseIdleConnections)
	apiserver := httptest.NewTLSServer(&httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(kubeletURL)
			pr.Out.Host = kubeletURL.Host
			pr.Out.Header.Del("Authorization")
		},
		Transport:     toKubelet,
		FlushInterval: -1,
	})
	t.Cleanup(apiserver.Close)
	return apiserver.URL
}

// TestWebSocketThroughProxies: WebSocket upgrades pass Go's reverse proxy,
// as the kubelet and the API server use it, with nothing dropped.
func TestWebSocketThroughProxies(t *testing.T) {
	s := startServer(t)
	base := proxyChain(t, s)
	cfg := &restclient.Config{TLSClientConfig: restclient.TLSClientConfig{Insecure: true}}
	viaProxy := func(streamURL string) string { return base + strings.TrimPrefix(streamURL, s.URL()) }

	resp, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: "c", Cmd: []string{"sh", "-c", "cat; exit 2"}, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := remotecommand.NewWebSocketExecutor(cfg, "GET", viaProxy(resp.Url))
	if err != nil {
		t.Fatal(err)
	}
	got := stream(t, ex, remotecommand.StreamOptions{Stdin: strings.NewReader("through")})
	if want := (streamResult{stdout: "through", code: 2}); got != want {
		t.Errorf("exec through proxies = %+v, want %+v", got, want)
	}

	echoPort := startEcho(t)
	pf, err := s.GetPortForward(&runtimeapi.PortForwardRequest{PodSandboxId: "sb"})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(viaProxy(pf.Url))
	local := forwardOverWebSocket(t, u, cfg, echoPort)
	if err := echoThrough(local, "hello through the tunnel"); err != nil {
		t.Error(err)
	}
}
