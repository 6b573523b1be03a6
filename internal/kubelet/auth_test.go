package kubelet

import (
	"crypto/tls"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/klite/klite/internal/pki"
)

func TestAuthorize(t *testing.T) {
	cases := []struct {
		name string
		u    user
		path string
		want bool
	}{
		{"api server kubelet client", user{name: APIServerKubeletClientName}, "/exec/default/p/c", true},
		{"system:masters member", user{name: "admin", groups: []string{"system:masters"}}, "/pods", true},
		{"other user, healthz", user{name: "alice", groups: []string{"dev"}}, "/healthz", true},
		{"other user, pods", user{name: "alice", groups: []string{"dev"}}, "/pods", false},
		{"node identity, logs", user{name: "system:node:n1", groups: []string{"system:nodes"}}, "/containerLogs/a/b/c", false},
		{"other user, healthz subpath", user{name: "alice"}, "/healthz/../pods", false},
	}
	for _, tc := range cases {
		if got := authorize(tc.u, tc.path); got != tc.want {
			t.Errorf("%s: authorize(%+v, %s) = %v, want %v", tc.name, tc.u, tc.path, got, tc.want)
		}
	}
}

// TestKubeletAPIAuthn serves the kubelet API with a CA-signed serving
// certificate and a client CA: clients without a certificate get 401, a
// certificate of another CA fails the handshake, the API server's kubelet
// client and system:masters may do everything, anyone else only /healthz.
func TestKubeletAPIAuthn(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.LoadOrCreateCA(filepath.Join(dir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.LoadOrCreateCA(filepath.Join(dir, "other"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.LoadOrCreateServing(dir, "kubelet", []string{"127.0.0.1", "localhost"}); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *Config) {
		c.EvictionHard = []Threshold{}
		c.ClientCAFile = filepath.Join(dir, "ca", "ca.crt")
		c.TLSCertFile, c.TLSKeyFile = filepath.Join(dir, "kubelet.crt"), filepath.Join(dir, "kubelet.key")
	})
	issue := func(ca *pki.CA, cn string, orgs ...string) *pki.KeyPair {
		kp, err := ca.Client(cn, orgs...)
		if err != nil {
			t.Fatal(err)
		}
		return &kp
	}
	apiServer := issue(ca, APIServerKubeletClientName, "system:masters")
	admin := issue(ca, "klite-admin", "system:masters")
	alice := issue(ca, "alice", "dev")
	foreign := issue(other, APIServerKubeletClientName, "system:masters")
	cases := []struct {
		name   string
		cert   *pki.KeyPair
		path   string
		status int // 0: the TLS handshake fails
	}{
		{"no certificate", nil, "/pods", http.StatusUnauthorized},
		{"no certificate, healthz", nil, "/healthz", http.StatusUnauthorized},
		{"certificate of another CA", foreign, "/healthz", 0},
		{"api server identity, pods", apiServer, "/pods", http.StatusOK},
		{"api server identity, stats", apiServer, "/stats/summary", http.StatusOK},
		{"system:masters, metrics", admin, "/metrics/resource", http.StatusOK},
		{"other user, healthz", alice, "/healthz", http.StatusOK},
		{"other user, pods", alice, "/pods", http.StatusForbidden},
		{"other user, exec", alice, "/exec/default/p/main?command=id", http.StatusForbidden},
		{"other user, logs", alice, "/containerLogs/default/p/main", http.StatusForbidden},
	}
	addr := e.waitAddr()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, err := getWithCert(ca, tc.cert, "https://"+addr+tc.path)
			if tc.status == 0 {
				if err == nil {
					t.Fatalf("GET %s succeeded (%d), want a failed handshake", tc.path, status)
				}
				return
			}
			if err != nil || status != tc.status {
				t.Errorf("GET %s = %d, %v; want %d", tc.path, status, err, tc.status)
			}
		})
	}
}

// getWithCert GETs url verifying the server against ca, presenting cert.
func getWithCert(ca *pki.CA, cert *pki.KeyPair, url string) (int, error) {
	cfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"}
	if cert != nil {
		c, err := tls.X509KeyPair(cert.CertPEM, cert.KeyPEM)
		if err != nil {
			return 0, err
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// waitAddr waits for the kubelet API to listen.
func (e *env) waitAddr() string {
	e.t.Helper()
	for i := 0; i < 250; i++ {
		if a := e.kubelet.Addr(); a != "" {
			return a
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatal("kubelet API never listened")
	return ""
}
