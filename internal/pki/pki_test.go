package pki

import (
	"crypto/x509"
	"encoding/pem"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

func TestCAAndServingCertAreReused(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	hosts := []string{"localhost", "127.0.0.1", "kubernetes.default.svc"}
	kp, err := ca.LoadOrCreateServing(dir, "serving", hosts)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := LoadOrCreateCA(dir)
	if !again.Cert.Equal(ca.Cert) {
		t.Fatal("CA regenerated on second load")
	}
	kp2, _ := again.LoadOrCreateServing(dir, "serving", hosts)
	if string(kp2.CertPEM) != string(kp.CertPEM) {
		t.Fatal("serving certificate regenerated although it covers the hosts")
	}
	kp3, _ := again.LoadOrCreateServing(dir, "serving", append(hosts, "10.0.0.9"))
	cert := parse(t, kp3.CertPEM)
	if string(kp3.CertPEM) == string(kp.CertPEM) || !covers(cert, append(hosts, "10.0.0.9")) {
		t.Fatal("serving certificate not reissued for a new host")
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "kubernetes.default.svc"}); err != nil {
		t.Fatalf("serving certificate does not verify against the CA: %v", err)
	}
}

func TestClientCertAndKubeconfig(t *testing.T) {
	ca, _ := LoadOrCreateCA(t.TempDir())
	kp, err := ca.Client("alice", "devs", "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	cert := parse(t, kp.CertPEM)
	if cert.Subject.CommonName != "alice" || len(cert.Subject.Organization) != 2 {
		t.Fatalf("subject %v", cert.Subject)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatal(err)
	}
	data, err := Kubeconfig("https://127.0.0.1:6443", ca.CertPEM, kp, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(data)
	if err != nil || cfg.Host != "https://127.0.0.1:6443" || len(cfg.CertData) == 0 || len(cfg.CAData) == 0 {
		t.Fatalf("kubeconfig does not load: %+v %v", cfg, err)
	}
}

func parse(t *testing.T, p []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(p)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
