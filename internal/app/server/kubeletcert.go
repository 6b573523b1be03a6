package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"path/filepath"
	"time"

	appkubelet "github.com/klite/klite/internal/app/kubelet"
	"github.com/klite/klite/internal/kubelet"
	"github.com/klite/klite/internal/pki"
)

// secureLocalKubelet gives the local agent a serving certificate signed by
// the cluster CA (SANs: node name, node IP, 127.0.0.1, localhost) and the
// cluster CA as its client CA, so the API server → kubelet path is
// authenticated both ways. Explicit --tls-cert-file / --client-ca-file win.
func secureLocalKubelet(o *appkubelet.Options, certDir string) error {
	if o.ClientCAFile == "" {
		o.ClientCAFile = filepath.Join(certDir, "ca.crt")
	}
	if o.TLSCertFile != "" {
		return nil
	}
	ca, err := pki.LoadOrCreateCA(certDir)
	if err != nil {
		return fmt.Errorf("cluster CA: %w", err)
	}
	name, err := o.NodeName()
	if err != nil {
		return err
	}
	ip := o.NodeIP
	if ip == "" {
		ip = kubelet.DefaultNodeIP()
	}
	kp, err := kubeletServing(ca, name, []string{name, ip, "127.0.0.1", "localhost"})
	if err != nil {
		return err
	}
	o.TLSCertFile, o.TLSPrivateKeyFile = filepath.Join(certDir, "kubelet-serving.crt"), filepath.Join(certDir, "kubelet-serving.key")
	if err := pki.WriteFileAtomic(o.TLSPrivateKeyFile, kp.KeyPEM, 0o600); err != nil {
		return err
	}
	return pki.WriteFileAtomic(o.TLSCertFile, kp.CertPEM, 0o644)
}

// kubeletServing issues a kubelet serving certificate for node, as
// upstream's kubelet serving CSRs name it (system:node:<node>, group
// system:nodes), valid for hosts.
func kubeletServing(ca *pki.CA, node string, hosts []string) (pki.KeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return pki.KeyPair{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return pki.KeyPair{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: serial,
		Subject:   pkix.Name{CommonName: "system:node:" + node, Organization: []string{"system:nodes"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return pki.KeyPair{}, fmt.Errorf("issue kubelet serving certificate: %w", err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return pki.KeyPair{}, err
	}
	return pki.KeyPair{CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})}, nil
}
