package auth

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// The JWS compact serialization (RFC 7515) with the two algorithms Kubernetes service-account
// keys use: RS256 (RSA PKCS#1 v1.5 over SHA-256) and ES256 (ECDSA P-256 over SHA-256).

// ErrTokenSignature: the token is not signed by any of the trusted keys.
var ErrTokenSignature = errors.New("token signature is invalid")

// jwsHeader is the protected header of a token.
type jwsHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid,omitempty"`
	Typ string `json:"typ,omitempty"`
}

// jws is a parsed, not yet verified, compact token.
type jws struct {
	header       jwsHeader
	payload      []byte
	signingInput []byte
	signature    []byte
}

var b64 = base64.RawURLEncoding

// algorithm names the JWS algorithm for a public key: RS256 for RSA, ES256 for ECDSA P-256.
func algorithm(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "RS256", nil
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return "ES256", nil
		}
	}
	return "", fmt.Errorf("unsupported service account key type %T (want RSA or ECDSA P-256)", pub)
}

// KeyID is the key's "kid" as upstream computes it: the unpadded base64url SHA-256 of the
// public key's PKIX DER encoding.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return b64.EncodeToString(sum[:]), nil
}

// signJWS serializes payload as JSON and signs it with key.
func signJWS(key crypto.Signer, kid string, payload any) (string, error) {
	alg, err := algorithm(key.Public())
	if err != nil {
		return "", err
	}
	h, err := json.Marshal(jwsHeader{Alg: alg, Kid: kid})
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(payload)
	if err != nil {
		return "", err
	}
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	digest := sha256.Sum256([]byte(input))
	sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	if alg == "ES256" {
		if sig, err = ecdsaRaw(sig); err != nil {
			return "", err
		}
	}
	return input + "." + b64.EncodeToString(sig), nil
}

// ecdsaRaw converts an ASN.1 ECDSA signature to JWS's fixed-size r||s form.
func ecdsaRaw(der []byte) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &sig); err != nil {
		return nil, fmt.Errorf("ecdsa signature: %w", err)
	}
	out := make([]byte, 64)
	sig.R.FillBytes(out[:32])
	sig.S.FillBytes(out[32:])
	return out, nil
}

// parseJWS splits and decodes a compact token without verifying it.
func parseJWS(token string) (*jws, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a compact JWS")
	}
	hb, err1 := b64.DecodeString(parts[0])
	payload, err2 := b64.DecodeString(parts[1])
	sig, err3 := b64.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("malformed JWS: %w", err)
	}
	var h jwsHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, fmt.Errorf("malformed JWS header: %w", err)
	}
	return &jws{header: h, payload: payload, signingInput: []byte(parts[0] + "." + parts[1]), signature: sig}, nil
}

// verify checks the signature against the keys; a key is tried when the header's algorithm is
// the key's and its kid (when the token names one) matches.
func (t *jws) verify(keys []crypto.PublicKey) error {
	digest := sha256.Sum256(t.signingInput)
	for _, k := range keys {
		alg, err := algorithm(k)
		if err != nil || alg != t.header.Alg {
			continue
		}
		if t.header.Kid != "" {
			if kid, err := KeyID(k); err != nil || kid != t.header.Kid {
				continue
			}
		}
		if verifyDigest(k, digest[:], t.signature) {
			return nil
		}
	}
	return ErrTokenSignature
}

func verifyDigest(pub crypto.PublicKey, digest, sig []byte) bool {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, digest, sig) == nil
	case *ecdsa.PublicKey:
		if len(sig) != 64 {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(k, digest, r, s)
	}
	return false
}

// decodeStrictJSON decodes JSON refusing trailing data.
func decodeStrictJSON(data []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(into); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after JSON object")
	}
	return nil
}
