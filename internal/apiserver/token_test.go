package apiserver_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klite/klite/internal/kubectltest"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/klite/klite/internal/apiserver"
)

func serviceAccount(t *testing.T, ns, name string) *corev1.ServiceAccount {
	t.Helper()
	sa, err := cluster.Client.CoreV1().ServiceAccounts(ns).Create(ctx(t), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, createOpts)
	if err != nil {
		t.Fatal(err)
	}
	return sa
}

func requestToken(t *testing.T, ns, sa string, spec authenticationv1.TokenRequestSpec) (*authenticationv1.TokenRequest, error) {
	t.Helper()
	return cluster.Client.CoreV1().ServiceAccounts(ns).CreateToken(ctx(t), sa, &authenticationv1.TokenRequest{Spec: spec}, createOpts)
}

// clientWithToken is a client of the test cluster authenticating with a bearer token.
func clientWithToken(token string) kubernetes.Interface {
	cfg := rest.CopyConfig(cluster.Config)
	cfg.BearerToken = token
	return kubernetes.NewForConfigOrDie(cfg)
}

func whoami(t *testing.T, token string) (authenticationv1.UserInfo, error) {
	t.Helper()
	r, err := clientWithToken(token).AuthenticationV1().SelfSubjectReviews().Create(ctx(t), &authenticationv1.SelfSubjectReview{}, createOpts)
	if err != nil {
		return authenticationv1.UserInfo{}, err
	}
	return r.Status.UserInfo, nil
}

// jwtPart decodes part i (0 header, 1 claims) of a token.
func jwtPart(t *testing.T, token string, i int, into any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWT", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatal(err)
	}
}

func podBoundTo(sa string) *corev1.Pod {
	p := pod("web").node("n1").obj()
	p.Spec.ServiceAccountName = sa
	return p
}

// TestPodBoundToken requests a pod-bound token, checks its claims, authenticates with it as the
// service account, and sees it stop working once the pod is gone.
func TestPodBoundToken(t *testing.T) {
	ns := namespace(t)
	sa := serviceAccount(t, ns, "robot")
	node, err := cluster.Client.CoreV1().Nodes().Create(ctx(t), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "token-node-" + ns}}, createOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cluster.Client.CoreV1().Nodes().Delete(context.Background(), node.Name, metav1.DeleteOptions{})
	})
	p := podBoundTo("robot")
	p.Spec.NodeName = node.Name
	p, err = cluster.Client.CoreV1().Pods(ns).Create(ctx(t), p, createOpts)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	tr, err := requestToken(t, ns, "robot", authenticationv1.TokenRequestSpec{
		BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "web", UID: p.UID}})
	if err != nil {
		t.Fatal(err)
	}
	if exp := tr.Status.ExpirationTimestamp.Time; exp.Before(before.Add(time.Hour-2*time.Second)) || exp.After(time.Now().Add(time.Hour+time.Second)) {
		t.Errorf("expirationTimestamp %v, want an hour from now", exp)
	}
	if tr.Name != "robot" || tr.Namespace != ns || *tr.Spec.ExpirationSeconds != 3600 || len(tr.Spec.Audiences) != 1 {
		t.Errorf("response %+v", tr)
	}

	var claims struct {
		Iss, Sub, Jti string
		Aud           any
		Exp, Iat, Nbf int64
		K8s           map[string]any `json:"kubernetes.io"`
	}
	jwtPart(t, tr.Status.Token, 1, &claims)
	ref := func(name string, uid types.UID) map[string]any {
		return map[string]any{"name": name, "uid": string(uid)}
	}
	wantK8s := map[string]any{"namespace": ns, "serviceaccount": ref("robot", sa.UID), "pod": ref("web", p.UID), "node": ref(node.Name, node.UID)}
	if claims.Iss != apiserver.DefaultServiceAccountIssuer || claims.Sub != "system:serviceaccount:"+ns+":robot" ||
		claims.Aud != apiserver.DefaultServiceAccountIssuer || claims.Exp-claims.Iat != 3600 || claims.Nbf != claims.Iat || claims.Jti == "" {
		t.Errorf("claims %+v", claims)
	}
	if got, _ := json.Marshal(claims.K8s); string(got) != mustJSON(t, wantK8s) {
		t.Errorf("kubernetes.io claim = %s, want %s", got, mustJSON(t, wantK8s))
	}

	info, err := whoami(t, tr.Status.Token)
	if err != nil {
		t.Fatalf("authenticate with the token: %v", err)
	}
	if info.Username != "system:serviceaccount:"+ns+":robot" || info.UID != string(sa.UID) ||
		strings.Join(info.Groups, ",") != "system:serviceaccounts,system:serviceaccounts:"+ns+",system:authenticated" ||
		strings.Join(info.Extra["authentication.kubernetes.io/pod-name"], "") != "web" ||
		strings.Join(info.Extra["authentication.kubernetes.io/pod-uid"], "") != string(p.UID) {
		t.Errorf("authenticated as %+v", info)
	}
	if _, err := clientWithToken(tr.Status.Token).CoreV1().Pods(ns).Get(ctx(t), "web", metav1.GetOptions{}); err != nil {
		t.Errorf("GET with the token: %v", err)
	}

	zero := int64(0)
	if err := cluster.Client.CoreV1().Pods(ns).Delete(ctx(t), "web", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	if _, err := whoami(t, tr.Status.Token); !apierrors.IsUnauthorized(err) {
		t.Errorf("token of a deleted pod: want 401 Unauthorized, got %v", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTokenInvalidation: a token stops authenticating when what it names goes away.
func TestTokenInvalidation(t *testing.T) {
	tests := []struct {
		name  string
		spec  func(ns string) authenticationv1.TokenRequestSpec
		spoil func(t *testing.T, ns string)
	}{
		{name: "service account deleted", spec: unbound, spoil: func(t *testing.T, ns string) {
			deleteSA(t, ns)
		}},
		{name: "service account recreated", spec: unbound, spoil: func(t *testing.T, ns string) {
			deleteSA(t, ns)
			serviceAccount(t, ns, "robot")
		}},
		{name: "bound secret deleted", spec: func(ns string) authenticationv1.TokenRequestSpec {
			return authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Secret", APIVersion: "v1", Name: "s"}}
		}, spoil: func(t *testing.T, ns string) {
			if err := cluster.Client.CoreV1().Secrets(ns).Delete(ctx(t), "s", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "audience the API server does not accept", spec: func(string) authenticationv1.TokenRequestSpec {
			return authenticationv1.TokenRequestSpec{Audiences: []string{"https://vault.example.com"}}
		}, spoil: func(*testing.T, string) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := namespace(t)
			serviceAccount(t, ns, "robot")
			if _, err := cluster.Client.CoreV1().Secrets(ns).Create(ctx(t), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}}, createOpts); err != nil {
				t.Fatal(err)
			}
			tr, err := requestToken(t, ns, "robot", tt.spec(ns))
			if err != nil {
				t.Fatal(err)
			}
			tt.spoil(t, ns)
			if info, err := whoami(t, tr.Status.Token); !apierrors.IsUnauthorized(err) {
				t.Errorf("want 401 Unauthorized, got %+v, %v", info, err)
			}
		})
	}
}

func unbound(string) authenticationv1.TokenRequestSpec { return authenticationv1.TokenRequestSpec{} }

func deleteSA(t *testing.T, ns string) {
	t.Helper()
	if err := cluster.Client.CoreV1().ServiceAccounts(ns).Delete(ctx(t), "robot", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestTokenRequestRefused: requests the API refuses, with the upstream status codes.
func TestTokenRequestRefused(t *testing.T) {
	ns := namespace(t)
	serviceAccount(t, ns, "robot")
	serviceAccount(t, ns, "other")
	if _, err := cluster.Client.CoreV1().Pods(ns).Create(ctx(t), podBoundTo("robot"), createOpts); err != nil {
		t.Fatal(err)
	}
	podRef := func(name string, uid types.UID) *authenticationv1.BoundObjectReference {
		return &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: name, UID: uid}
	}
	short := int64(60)
	tests := []struct {
		name string
		sa   string
		spec authenticationv1.TokenRequestSpec
		want func(error) bool
	}{
		{"missing service account", "ghost", authenticationv1.TokenRequestSpec{}, apierrors.IsNotFound},
		{"shorter than ten minutes", "robot", authenticationv1.TokenRequestSpec{ExpirationSeconds: &short}, apierrors.IsInvalid},
		{"missing bound pod", "robot", authenticationv1.TokenRequestSpec{BoundObjectRef: podRef("ghost", "")}, apierrors.IsNotFound},
		{"pod of another service account", "other", authenticationv1.TokenRequestSpec{BoundObjectRef: podRef("web", "")}, apierrors.IsBadRequest},
		{"stale pod uid", "robot", authenticationv1.TokenRequestSpec{BoundObjectRef: podRef("web", "not-the-uid")}, apierrors.IsConflict},
		{"unsupported kind", "robot", authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "ConfigMap", APIVersion: "v1", Name: "x"}}, apierrors.IsBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := requestToken(t, ns, tt.sa, tt.spec)
			if !tt.want(err) {
				t.Errorf("got %+v, %v", tr, err)
			}
		})
	}
}

// TestSelfSubjectReviewOfAdmin: `kubectl auth whoami` for the static-token admin.
func TestSelfSubjectReviewOfAdmin(t *testing.T) {
	r, err := cluster.Client.AuthenticationV1().SelfSubjectReviews().Create(ctx(t), &authenticationv1.SelfSubjectReview{}, createOpts)
	if err != nil {
		t.Fatal(err)
	}
	if u := r.Status.UserInfo; u.Username != "test-admin" || !strings.Contains(strings.Join(u.Groups, ","), "system:masters") {
		t.Errorf("user info %+v", u)
	}
}

// TestOIDCDiscovery: the discovery document names the issuer, and the JWKS holds the key that
// verifies issued tokens.
func TestOIDCDiscovery(t *testing.T) {
	ns := namespace(t)
	serviceAccount(t, ns, "robot")
	tr, err := requestToken(t, ns, "robot", authenticationv1.TokenRequestSpec{})
	if err != nil {
		t.Fatal(err)
	}
	rc := cluster.Client.CoreV1().RESTClient()
	var doc struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	body, err := rc.Get().AbsPath("/.well-known/openid-configuration").DoRaw(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Issuer != apiserver.DefaultServiceAccountIssuer || !strings.HasSuffix(doc.JWKSURI, "/openid/v1/jwks") || strings.Join(doc.Algs, ",") != "ES256" {
		t.Errorf("discovery document %s", body)
	}
	var set struct {
		Keys []struct{ Kty, Kid, Alg, Crv, X, Y string }
	}
	body, err = rc.Get().AbsPath("/openid/v1/jwks").DoRaw(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks %s: %v", body, err)
	}
	var header struct{ Alg, Kid string }
	jwtPart(t, tr.Status.Token, 0, &header)
	k := set.Keys[0]
	if k.Kid != header.Kid || k.Alg != header.Alg || k.Kty != "EC" || k.Crv != "P-256" {
		t.Fatalf("jwk %+v does not match the token header %+v", k, header)
	}
	if !verifyES256(t, tr.Status.Token, k.X, k.Y) {
		t.Error("the JWKS key does not verify the token")
	}
}

func verifyES256(t *testing.T, token, x, y string) bool {
	dec := func(s string) *big.Int {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return new(big.Int).SetBytes(b)
	}
	parts := strings.Split(token, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		t.Fatalf("signature: %v", err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: dec(x), Y: dec(y)}
	return ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
}

// TestOIDCDiscoveryNeedsAuthentication: like every non-public path, anonymous callers get 401.
func TestOIDCDiscoveryNeedsAuthentication(t *testing.T) {
	resp, err := cluster.HTTP.Client().Get(cluster.HTTP.URL + "/openid/v1/jwks")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous jwks: %d, want 401", resp.StatusCode)
	}
}

// TestKubectlCreateToken drives the real kubectl: `kubectl create token` and `kubectl auth
// whoami` with the token it printed.
func TestKubectlCreateToken(t *testing.T) {
	kubectl := kubectltest.Path(t)
	ns := namespace(t)
	serviceAccount(t, ns, "robot")
	kc := writeKubeconfig(t)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx(t), kubectl, append([]string{"--kubeconfig", kc}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	token := run("create", "token", "robot", "-n", ns, "--duration", "20m")
	var claims struct{ Exp, Iat int64 }
	jwtPart(t, token, 1, &claims)
	if claims.Exp-claims.Iat != 1200 {
		t.Errorf("--duration 20m gave a token valid for %ds", claims.Exp-claims.Iat)
	}
	if who := run("auth", "whoami", "--token", token, "-o", "jsonpath={.status.userInfo.username}"); who != "system:serviceaccount:"+ns+":robot" {
		t.Errorf("kubectl auth whoami = %q", who)
	}
}

func writeKubeconfig(t *testing.T) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["c"] = &clientcmdapi.Cluster{Server: cluster.Config.Host, CertificateAuthorityData: cluster.Config.CAData}
	cfg.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: cluster.Config.BearerToken}
	cfg.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	cfg.CurrentContext = "c"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}
