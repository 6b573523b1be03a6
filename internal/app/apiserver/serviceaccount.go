package apiserver

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/klite/klite/internal/apiserver"
	"github.com/klite/klite/internal/apiserver/auth"
	"github.com/klite/klite/internal/pki"
)

// ServiceAccountOptions are the flags of service-account tokens, named as upstream names them.
type ServiceAccountOptions struct {
	// SigningKeyFile is the private key that signs tokens (default <data-dir>/server/tls/sa.key,
	// generated on first start with its public half in sa.pub).
	SigningKeyFile string
	// KeyFiles hold further public (or private) keys that verify tokens.
	KeyFiles []string
	// Issuers: the first names the issuer of new tokens; all are accepted.
	Issuers []string
	// APIAudiences are the audiences the API server accepts (default: the issuers).
	APIAudiences []string
}

func (o *ServiceAccountOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.SigningKeyFile, "service-account-signing-key-file", o.SigningKeyFile, "PEM private key (RSA or ECDSA P-256) that signs service account tokens (default <data-dir>/server/tls/sa.key, generated when missing)")
	fs.StringArrayVar(&o.KeyFiles, "service-account-key-file", o.KeyFiles, "PEM file of public or private keys that also verify service account tokens (repeatable)")
	fs.StringArrayVar(&o.Issuers, "service-account-issuer", o.Issuers, "Issuer (iss) of service account tokens; the first signs new tokens, all are accepted (repeatable)")
	fs.StringSliceVar(&o.APIAudiences, "api-audiences", o.APIAudiences, "Audiences the API server accepts in service account tokens (default: the issuers)")
}

// tokens builds the API server's service-account token config, creating the signing key pair in
// certDir when no signing key file is given.
func (o *ServiceAccountOptions) tokens(certDir string) (apiserver.ServiceAccountTokens, error) {
	var cfg apiserver.ServiceAccountTokens
	issuers := o.Issuers
	if len(issuers) == 0 {
		issuers = []string{apiserver.DefaultServiceAccountIssuer}
	}
	keyFile := o.SigningKeyFile
	if keyFile == "" {
		keyFile = filepath.Join(certDir, "sa.key")
		if err := ensureSigningKey(keyFile, filepath.Join(certDir, "sa.pub")); err != nil {
			return cfg, err
		}
	}
	signer, err := loadSigningKey(keyFile)
	if err != nil {
		return cfg, err
	}
	if cfg.Issuer, err = auth.NewTokenIssuer(issuers[0], signer); err != nil {
		return cfg, err
	}
	cfg.Issuers = issuers[1:]
	for _, f := range o.KeyFiles {
		keys, err := loadPublicKeys(f)
		if err != nil {
			return cfg, err
		}
		cfg.Keys = append(cfg.Keys, keys...)
	}
	cfg.APIAudiences = o.APIAudiences
	if len(cfg.APIAudiences) == 0 {
		cfg.APIAudiences = issuers
	}
	return cfg, nil
}

// ensureSigningKey writes a new RSA 2048 key pair to keyPath and pubPath unless keyPath exists.
func ensureSigningKey(keyPath, pubPath string) error {
	if _, err := os.Stat(keyPath); err == nil {
		return nil
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(keyPath), 0o700); err != nil {
		return err
	}
	if err := pki.WriteFileAtomic(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		return fmt.Errorf("write service account public key: %w", err)
	}
	priv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := pki.WriteFileAtomic(keyPath, priv, 0o600); err != nil {
		return fmt.Errorf("write service account signing key: %w", err)
	}
	return nil
}

// loadSigningKey reads the first private key of a PEM file.
func loadSigningKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("service account signing key: %w", err)
	}
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if key, err := parsePrivateKey(block); err == nil && key != nil {
			return key, nil
		}
	}
	return nil, fmt.Errorf("service account signing key %s: no RSA or ECDSA private key", path)
}

func parsePrivateKey(block *pem.Block) (crypto.Signer, error) {
	switch block.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		switch k := k.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case *ecdsa.PrivateKey:
			return k, nil
		}
		return nil, fmt.Errorf("unsupported private key type %T", k)
	}
	return nil, nil
}

// loadPublicKeys reads every public key of a PEM file: public keys, certificates, or the
// public halves of private keys.
func loadPublicKeys(path string) ([]crypto.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("service account key file: %w", err)
	}
	var keys []crypto.PublicKey
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		k, err := parsePublicKey(block)
		if err != nil {
			return nil, fmt.Errorf("service account key file %s: %w", path, err)
		}
		if k != nil {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("service account key file %s: no keys", path)
	}
	return keys, nil
}

func parsePublicKey(block *pem.Block) (crypto.PublicKey, error) {
	switch block.Type {
	case "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		return c.PublicKey, nil
	}
	priv, err := parsePrivateKey(block)
	if err != nil || priv == nil {
		return nil, err
	}
	return priv.Public(), nil
}
