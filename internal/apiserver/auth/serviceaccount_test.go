package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

const testIssuer = "https://kubernetes.default.svc.cluster.local"

// objects is an in-memory ObjectLookup: resource/namespace/name → state.
type objects map[string]ObjectState

func (o objects) LookupObject(_ context.Context, resource, namespace, name string) (ObjectState, error) {
	st, ok := o[resource+"/"+namespace+"/"+name]
	if !ok {
		return ObjectState{}, ErrObjectNotFound
	}
	return st, nil
}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func issuer(t testing.TB, iss string, key crypto.Signer) *TokenIssuer {
	i, err := NewTokenIssuer(iss, key)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

var (
	t0      = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	saRef   = ObjectRef{Name: "robot", UID: "sa-uid"}
	podRef  = &ObjectRef{Name: "web", UID: "pod-uid"}
	nodeRef = &ObjectRef{Name: "node-1", UID: "node-uid"}
)

func liveObjects() objects {
	return objects{
		"serviceaccounts/ns/robot": {UID: "sa-uid"},
		"pods/ns/web":              {UID: "pod-uid"},
		"secrets/ns/s":             {UID: "secret-uid"},
		"nodes//node-1":            {UID: "node-uid"},
	}
}

func podClaims(aud ...string) Claims {
	return NewClaims(saRef, "ns", aud, t0, time.Hour, "jti-1", BoundObjects{Pod: podRef, Node: nodeRef})
}

func TestServiceAccountTokens(t *testing.T) {
	key := ecKey(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	good := issuer(t, testIssuer, key)
	deletedLongAgo := t0.Add(-2 * time.Minute)
	deletedJustNow := t0.Add(50 * time.Second) // ten seconds before the check at t0+1m
	tests := []struct {
		name    string
		signer  *TokenIssuer
		claims  Claims
		keys    []crypto.PublicKey
		now     time.Time
		objects func(objects)
		tamper  func(string) string
		wantOK  bool
		wantErr error // nil: any error when wantOK is false and errText is empty
		errText string
	}{
		{name: "valid pod-bound token", signer: good, claims: podClaims(testIssuer), wantOK: true},
		{name: "RSA key", signer: issuer(t, testIssuer, rsaKey), keys: []crypto.PublicKey{&rsaKey.PublicKey}, claims: podClaims(testIssuer), wantOK: true},
		{name: "one of several keys", signer: good, keys: []crypto.PublicKey{&rsaKey.PublicKey, key.Public()}, claims: podClaims(testIssuer), wantOK: true},
		{name: "unbound token", signer: good, claims: NewClaims(saRef, "ns", []string{testIssuer}, t0, time.Hour, "", BoundObjects{}), wantOK: true},
		{name: "within leeway after expiry", signer: good, claims: podClaims(testIssuer), now: t0.Add(time.Hour + 30*time.Second), wantOK: true},
		{name: "wrong key", signer: issuer(t, testIssuer, ecKey(t)), claims: podClaims(testIssuer), wantErr: ErrTokenSignature},
		{name: "tampered payload", signer: good, claims: podClaims(testIssuer), tamper: swapPayload(podClaims(testIssuer), func(c *Claims) { c.Kubernetes.ServiceAccount.Name = "admin" }), wantErr: ErrTokenSignature},
		{name: "alg none", signer: good, claims: podClaims(testIssuer), tamper: func(s string) string {
			p := strings.Split(s, ".")
			return b64.EncodeToString([]byte(`{"alg":"none"}`)) + "." + p[1] + "."
		}, wantErr: ErrTokenSignature},
		{name: "expired", signer: good, claims: podClaims(testIssuer), now: t0.Add(2 * time.Hour), wantErr: ErrTokenExpired},
		{name: "not yet valid", signer: good, claims: podClaims(testIssuer), now: t0.Add(-time.Hour), wantErr: ErrTokenNotYetValid},
		{name: "wrong audience", signer: good, claims: podClaims("https://vault.example.com"), wantErr: ErrTokenAudience},
		{name: "deleted service account", signer: good, claims: podClaims(testIssuer), objects: func(o objects) { delete(o, "serviceaccounts/ns/robot") }, wantErr: ErrTokenInvalidated},
		{name: "recreated service account", signer: good, claims: podClaims(testIssuer), objects: func(o objects) { o["serviceaccounts/ns/robot"] = ObjectState{UID: "other"} }, wantErr: ErrTokenInvalidated},
		{name: "deleted pod", signer: good, claims: podClaims(testIssuer), objects: func(o objects) { delete(o, "pods/ns/web") }, wantErr: ErrTokenInvalidated},
		{name: "pod terminating for over a minute", signer: good, claims: podClaims(testIssuer), objects: func(o objects) { o["pods/ns/web"] = ObjectState{UID: "pod-uid", DeletionTimestamp: &deletedLongAgo} }, wantErr: ErrTokenInvalidated},
		{name: "pod terminating for seconds", signer: good, claims: podClaims(testIssuer), objects: func(o objects) { o["pods/ns/web"] = ObjectState{UID: "pod-uid", DeletionTimestamp: &deletedJustNow} }, wantOK: true},
		{name: "deleted node does not matter for a pod-bound token", signer: good, claims: podClaims(testIssuer), objects: func(o objects) { delete(o, "nodes//node-1") }, wantOK: true},
		{name: "deleted secret", signer: good, claims: NewClaims(saRef, "ns", []string{testIssuer}, t0, time.Hour, "", BoundObjects{Secret: &ObjectRef{Name: "s", UID: "secret-uid"}}), objects: func(o objects) { delete(o, "secrets/ns/s") }, wantErr: ErrTokenInvalidated},
		{name: "deleted node of a node-bound token", signer: good, claims: NewClaims(saRef, "ns", []string{testIssuer}, t0, time.Hour, "", BoundObjects{Node: nodeRef}), objects: func(o objects) { delete(o, "nodes//node-1") }, wantErr: ErrTokenInvalidated},
		{name: "subject does not match the service account", signer: good, claims: func() Claims { c := podClaims(testIssuer); c.Subject = "system:serviceaccount:ns:admin"; return c }(), errText: "kubernetes.io claims"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := liveObjects()
			if tt.objects != nil {
				tt.objects(objs)
			}
			keys := tt.keys
			if keys == nil {
				keys = []crypto.PublicKey{key.Public()}
			}
			now := tt.now
			if now.IsZero() {
				now = t0.Add(time.Minute)
			}
			a := &ServiceAccountTokens{Issuers: []string{testIssuer}, Keys: keys, Audiences: []string{testIssuer}, Lookup: objs, Now: func() time.Time { return now }}
			tok, err := tt.signer.Sign(tt.claims)
			if err != nil {
				t.Fatal(err)
			}
			if tt.tamper != nil {
				tok = tt.tamper(tok)
			}
			u, ok, err := a.Authenticate(bearer(tok))
			if tt.wantOK {
				if !ok || err != nil {
					t.Fatalf("Authenticate = %v, %v; want accepted", ok, err)
				}
				if u.Name != "system:serviceaccount:ns:robot" || u.UID != "sa-uid" {
					t.Errorf("user = %+v", u)
				}
				return
			}
			if ok || err == nil {
				t.Fatalf("Authenticate = %+v, %v, %v; want an error", u, ok, err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.errText != "" && !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("err = %v, want it to mention %q", err, tt.errText)
			}
		})
	}
}

// swapPayload replaces a token's payload with modified claims, keeping the original signature.
func swapPayload(c Claims, mutate func(*Claims)) func(string) string {
	return func(tok string) string {
		c.Kubernetes = &KubernetesClaims{Namespace: c.Kubernetes.Namespace, ServiceAccount: c.Kubernetes.ServiceAccount, Pod: c.Kubernetes.Pod, Node: c.Kubernetes.Node}
		c.Issuer = testIssuer
		mutate(&c)
		b, _ := json.Marshal(c)
		p := strings.Split(tok, ".")
		return p[0] + "." + b64.EncodeToString(b) + "." + p[2]
	}
}

func bearer(tok string) *http.Request {
	r := httptest.NewRequest("GET", "/api", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

// TestServiceAccountTokensPassOn: credentials that are not our tokens are left to the next
// authenticator, so static tokens keep working behind this one.
func TestServiceAccountTokensPassOn(t *testing.T) {
	key := ecKey(t)
	a := &ServiceAccountTokens{Issuers: []string{testIssuer}, Keys: []crypto.PublicKey{key.Public()}, Audiences: []string{testIssuer}, Lookup: liveObjects(), Now: func() time.Time { return t0 }}
	other, err := issuer(t, "https://other.example.com", key).Sign(podClaims(testIssuer))
	if err != nil {
		t.Fatal(err)
	}
	for name, header := range map[string]string{
		"no header":          "",
		"basic auth":         "Basic dXNlcjpwYXNz",
		"static token":       "Bearer 0123456789abcdef",
		"three dots garbage": "Bearer a.b.c",
		"another issuer":     "Bearer " + other,
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api", nil)
			if header != "" {
				r.Header.Set("Authorization", header)
			}
			if u, ok, err := a.Authenticate(r); ok || err != nil || u != nil {
				t.Errorf("Authenticate = %v, %v, %v; want not recognized", u, ok, err)
			}
		})
	}
}

func TestServiceAccountUser(t *testing.T) {
	key := ecKey(t)
	a := &ServiceAccountTokens{Issuers: []string{testIssuer}, Keys: []crypto.PublicKey{key.Public()}, Audiences: []string{"api", testIssuer}, Lookup: liveObjects(), Now: func() time.Time { return t0 }}
	tok, err := issuer(t, testIssuer, key).Sign(podClaims("other", testIssuer))
	if err != nil {
		t.Fatal(err)
	}
	u, err := a.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	want := &User{Name: "system:serviceaccount:ns:robot", UID: "sa-uid",
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated"},
		Extra: map[string][]string{ExtraPodName: {"web"}, ExtraPodUID: {"pod-uid"}, ExtraNodeName: {"node-1"},
			ExtraNodeUID: {"node-uid"}, ExtraCredentialID: {"JTI=jti-1"}}}
	if !reflect.DeepEqual(u, want) {
		t.Errorf("user =\n%+v\nwant\n%+v", u, want)
	}
}

// TestClaimsWire checks the token's payload names the claims as upstream's tokens do.
func TestClaimsWire(t *testing.T) {
	key := ecKey(t)
	tok, err := issuer(t, testIssuer, key).Sign(podClaims(testIssuer))
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := parseJWS(tok)
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := KeyID(key.Public())
	if parsed.header.Alg != "ES256" || parsed.header.Kid != kid {
		t.Errorf("header = %+v, want ES256 with kid %s", parsed.header, kid)
	}
	var got map[string]any
	if err := json.Unmarshal(parsed.payload, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"iss": testIssuer, "sub": "system:serviceaccount:ns:robot", "aud": testIssuer,
		"iat": float64(t0.Unix()), "nbf": float64(t0.Unix()), "exp": float64(t0.Add(time.Hour).Unix()), "jti": "jti-1",
		"kubernetes.io": map[string]any{
			"namespace":      "ns",
			"serviceaccount": map[string]any{"name": "robot", "uid": "sa-uid"},
			"pod":            map[string]any{"name": "web", "uid": "pod-uid"},
			"node":           map[string]any{"name": "node-1", "uid": "node-uid"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("payload =\n%v\nwant\n%v", got, want)
	}
}

func TestNewTokenIssuerRejectsUnsupportedKeys(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewTokenIssuer(testIssuer, k); err == nil {
		t.Error("P-384 key accepted; only RS256 and ES256 are supported")
	}
	if _, err := NewTokenIssuer("", ecKey(t)); err == nil {
		t.Error("empty issuer accepted")
	}
}

// FuzzServiceAccountToken feeds arbitrary bearer tokens to the authenticator: it must never panic
// and never accept a token it did not sign.
func FuzzServiceAccountToken(f *testing.F) {
	key := ecKey(f)
	tok, err := issuer(f, testIssuer, key).Sign(podClaims(testIssuer))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	a := &ServiceAccountTokens{Issuers: []string{testIssuer}, Keys: []crypto.PublicKey{key.Public()}, Audiences: []string{testIssuer}, Lookup: liveObjects(), Now: func() time.Time { return t0 }}
	f.Fuzz(func(t *testing.T, s string) {
		_, ok, _ := a.Authenticate(bearer(s))
		if ok && s != tok {
			// Re-encodings of the same signature over the same input are the only other way in.
			p, err := parseJWS(s)
			if err != nil || p.verify([]crypto.PublicKey{key.Public()}) != nil {
				t.Fatalf("accepted a token that does not verify: %q", s)
			}
		}
	})
}
