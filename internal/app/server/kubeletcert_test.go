package server

import (
	"crypto/tls"
	"crypto/x509"
	"path/filepath"
	"testing"
	"time"

	appkubelet "github.com/klite/klite/internal/app/kubelet"
	"github.com/klite/klite/internal/pki"
)

// TestSecureLocalKubelet: the local agent serves with a certificate the
// cluster CA signed for its node name, node IP, 127.0.0.1 and localhost,
// and trusts the cluster CA for clients.
func TestSecureLocalKubelet(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	o := appkubelet.NewOptions()
	o.HostnameOverride, o.NodeIP = "Node-A", "10.1.2.3"
	if err := secureLocalKubelet(o, dir); err != nil {
		t.Fatal(err)
	}
	if o.ClientCAFile != filepath.Join(dir, "ca.crt") {
		t.Errorf("client CA = %q", o.ClientCAFile)
	}
	pair, err := tls.LoadX509KeyPair(o.TLSCertFile, o.TLSPrivateKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"node-a", "10.1.2.3", "127.0.0.1", "localhost"} {
		_, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: host, CurrentTime: time.Now(),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		if err != nil {
			t.Errorf("serving certificate not valid for %s: %v", host, err)
		}
	}
	if cert.Subject.CommonName != "system:node:node-a" {
		t.Errorf("CN = %q", cert.Subject.CommonName)
	}

	explicit := appkubelet.NewOptions()
	explicit.TLSCertFile, explicit.TLSPrivateKeyFile, explicit.ClientCAFile = "/my.crt", "/my.key", "/my-ca.crt"
	if err := secureLocalKubelet(explicit, dir); err != nil {
		t.Fatal(err)
	}
	if explicit.TLSCertFile != "/my.crt" || explicit.ClientCAFile != "/my-ca.crt" {
		t.Errorf("explicit flags overridden: %s %s", explicit.TLSCertFile, explicit.ClientCAFile)
	}
}
