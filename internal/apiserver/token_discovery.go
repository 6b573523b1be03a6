package apiserver

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/apiserver/auth"
)

// selfSubjectReview serves POST /apis/authentication.k8s.io/v1/selfsubjectreviews (`kubectl auth
// whoami`): who the caller is authenticated as.
func (t *tokenAPI) selfSubjectReview(w http.ResponseWriter, r *http.Request) {
	out, err := negotiate(r)
	if err != nil {
		writeError(w, err)
		return
	}
	u := auth.UserFrom(r.Context())
	if u == nil {
		writeError(w, apierrors.NewUnauthorized("Unauthorized"))
		return
	}
	if _, err := t.s.readBody(r); err != nil {
		writeError(w, err)
		return
	}
	info := authenticationv1.UserInfo{Username: u.Name, UID: u.UID, Groups: u.Groups}
	if len(u.Extra) > 0 {
		info.Extra = map[string]authenticationv1.ExtraValue{}
		for k, v := range u.Extra {
			info.Extra[k] = v
		}
	}
	review := &authenticationv1.SelfSubjectReview{
		TypeMeta:   metav1.TypeMeta{APIVersion: authenticationv1.SchemeGroupVersion.String(), Kind: "SelfSubjectReview"},
		ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(t.s.cfg.Now().Truncate(1e9))},
		Status:     authenticationv1.SelfSubjectReviewStatus{UserInfo: info},
	}
	writeObject(w, http.StatusCreated, review, out)
}

// openIDConfiguration serves the issuer's OIDC discovery document, so that relying parties can
// verify service-account tokens with the keys from jwks.
func (t *tokenAPI) openIDConfiguration(w http.ResponseWriter, r *http.Request) {
	algs := map[string]bool{}
	for _, k := range t.keys {
		if jwk, ok := publicJWK(k); ok {
			algs[jwk.Alg] = true
		}
	}
	doc := struct {
		Issuer        string   `json:"issuer"`
		JWKSURI       string   `json:"jwks_uri"`
		ResponseTypes []string `json:"response_types_supported"`
		SubjectTypes  []string `json:"subject_types_supported"`
		SigningAlgs   []string `json:"id_token_signing_alg_values_supported"`
	}{
		Issuer: t.issuer.Issuer(), JWKSURI: "https://" + r.Host + "/openid/v1/jwks",
		ResponseTypes: []string{"id_token"}, SubjectTypes: []string{"public"},
	}
	for _, a := range []string{"ES256", "RS256"} {
		if algs[a] {
			doc.SigningAlgs = append(doc.SigningAlgs, a)
		}
	}
	writeDiscoveryJSON(w, "application/json", doc)
}

// jwks serves the public keys that verify service-account tokens (RFC 7517).
func (t *tokenAPI) jwks(w http.ResponseWriter, r *http.Request) {
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, k := range t.keys {
		if j, ok := publicJWK(k); ok {
			set.Keys = append(set.Keys, j)
		}
	}
	writeDiscoveryJSON(w, "application/jwk-set+json", set)
}

func writeDiscoveryJSON(w http.ResponseWriter, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, apierrors.NewInternalError(err))
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(body)
}

// jwk is a public JSON Web Key.
type jwk struct {
	Use string `json:"use"`
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

func publicJWK(k crypto.PublicKey) (jwk, bool) {
	kid, err := auth.KeyID(k)
	if err != nil {
		return jwk{}, false
	}
	enc := base64.RawURLEncoding
	switch key := k.(type) {
	case *rsa.PublicKey:
		return jwk{Use: "sig", Kty: "RSA", Kid: kid, Alg: "RS256", N: enc.EncodeToString(key.N.Bytes()),
			E: enc.EncodeToString(big.NewInt(int64(key.E)).Bytes())}, true
	case *ecdsa.PublicKey:
		if key.Curve.Params().Name != "P-256" {
			return jwk{}, false
		}
		point, err := key.Bytes() // 0x04 || X || Y
		if err != nil || len(point) != 65 {
			return jwk{}, false
		}
		return jwk{Use: "sig", Kty: "EC", Kid: kid, Alg: "ES256", Crv: "P-256", X: enc.EncodeToString(point[1:33]), Y: enc.EncodeToString(point[33:])}, true
	}
	return jwk{}, false
}
