package apiserver

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/klite/klite/internal/apiserver"
	"github.com/klite/klite/internal/apiserver/auth"
)

// TestSigningKeyIsCreatedOnceAndReused: the first start writes sa.key and sa.pub; later starts
// sign with the same key, so tokens survive restarts.
func TestSigningKeyIsCreatedOnceAndReused(t *testing.T) {
	dir := t.TempDir()
	o := &ServiceAccountOptions{}
	first, err := o.tokens(dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, "sa.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("sa.key: %v, %v", info, err)
	}
	pub, err := loadPublicKeys(filepath.Join(dir, "sa.pub"))
	if err != nil || len(pub) != 1 {
		t.Fatalf("sa.pub: %v, %v", pub, err)
	}
	second, err := o.tokens(dir)
	if err != nil {
		t.Fatal(err)
	}
	if kid(t, first.Issuer.PublicKey()) != kid(t, second.Issuer.PublicKey()) || kid(t, pub[0]) != kid(t, first.Issuer.PublicKey()) {
		t.Error("the signing key changed between starts, or sa.pub is not its public half")
	}
	if first.Issuer.Issuer() != apiserver.DefaultServiceAccountIssuer || !reflect.DeepEqual(first.APIAudiences, []string{apiserver.DefaultServiceAccountIssuer}) {
		t.Errorf("issuer %q, audiences %v; want the defaults", first.Issuer.Issuer(), first.APIAudiences)
	}
}

func kid(t *testing.T, k crypto.PublicKey) string {
	t.Helper()
	id, err := auth.KeyID(k)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestServiceAccountFlags: explicit keys, issuers and audiences, in the PEM forms upstream
// accepts.
func TestServiceAccountFlags(t *testing.T) {
	dir := t.TempDir()
	signing, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(signing)
	pkix, _ := x509.MarshalPKIXPublicKey(&other.PublicKey)
	sec1, _ := x509.MarshalECPrivateKey(other)
	write := func(name string, blocks ...*pem.Block) string {
		var data []byte
		for _, b := range blocks {
			data = append(data, pem.EncodeToMemory(b)...)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	o := &ServiceAccountOptions{
		SigningKeyFile: write("signing.pem", &pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
		KeyFiles:       []string{write("pub.pem", &pem.Block{Type: "PUBLIC KEY", Bytes: pkix}), write("priv.pem", &pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})},
		Issuers:        []string{"https://new.example.com", "https://old.example.com"},
		APIAudiences:   []string{"api"},
	}
	cfg, err := o.tokens(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "sa.key")); !os.IsNotExist(err) {
		t.Error("sa.key generated although a signing key file was given")
	}
	if kid(t, cfg.Issuer.PublicKey()) != kid(t, signing.Public()) || cfg.Issuer.Issuer() != "https://new.example.com" {
		t.Errorf("issuer %q signs with the wrong key", cfg.Issuer.Issuer())
	}
	if len(cfg.Keys) != 2 || kid(t, cfg.Keys[0]) != kid(t, other.Public()) || kid(t, cfg.Keys[1]) != kid(t, other.Public()) {
		t.Errorf("verification keys %v", cfg.Keys)
	}
	if !reflect.DeepEqual(cfg.Issuers, []string{"https://old.example.com"}) || !reflect.DeepEqual(cfg.APIAudiences, []string{"api"}) {
		t.Errorf("issuers %v, audiences %v", cfg.Issuers, cfg.APIAudiences)
	}
}

func TestServiceAccountKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]*ServiceAccountOptions{
		"missing signing key":     {SigningKeyFile: filepath.Join(dir, "nope")},
		"signing key without key": {SigningKeyFile: empty},
		"key file without keys":   {KeyFiles: []string{empty}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := o.tokens(t.TempDir()); err == nil {
				t.Error("accepted")
			}
		})
	}
}
