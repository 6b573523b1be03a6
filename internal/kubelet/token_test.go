package kubelet

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestTokenNeedsRefresh(t *testing.T) {
	issued := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hour := cachedToken{issued: issued, expires: issued.Add(time.Hour)}
	year := cachedToken{issued: issued, expires: issued.Add(365 * 24 * time.Hour)}
	tests := []struct {
		name  string
		token cachedToken
		at    time.Duration // after issue
		want  bool
	}{
		{"fresh", hour, 0, false},
		{"just before 80% of its life", hour, 47*time.Minute + 59*time.Second, false},
		{"80% of its life", hour, 48 * time.Minute, true},
		{"expired", hour, 2 * time.Hour, true},
		{"long-lived token before a day", year, 23 * time.Hour, false},
		{"long-lived token after a day", year, 24 * time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.token.needsRefresh(issued.Add(tt.at)); got != tt.want {
				t.Errorf("needsRefresh at +%v = %v, want %v", tt.at, got, tt.want)
			}
		})
	}
}

// TestTokenFromResponseUsesGrantedLifetime: the refresh schedule follows the lifetime the API
// server granted, not the one requested.
func TestTokenFromResponseUsesGrantedLifetime(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	granted := int64(7200)
	got := tokenFromResponse(&authenticationv1.TokenRequest{
		Spec:   authenticationv1.TokenRequestSpec{ExpirationSeconds: &granted},
		Status: authenticationv1.TokenRequestStatus{Token: "tok\n", ExpirationTimestamp: metav1.NewTime(now.Add(2 * time.Hour))},
	}, now.Add(time.Second))
	if string(got.token) != "tok" || !got.issued.Equal(now) || !got.expires.Equal(now.Add(2*time.Hour)) {
		t.Errorf("token %q issued %v expires %v", got.token, got.issued, got.expires)
	}
}

// TestProjectedServiceAccountToken runs a pod with projected service-account tokens on a real
// kubelet and API server: the API-audience token authenticates as the pod's service account, the
// other carries its own audience and lifetime, and deleting the pod invalidates the token.
func TestProjectedServiceAccountToken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.client.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	twoHours := int64(7200)
	p := e.create(e.pod("tokens", "test -s /var/run/secrets/tokens/api && test -s /var/run/secrets/tokens/vault && echo ok; while true; do sleep 0.2; done", func(p *corev1.Pod) {
		p.Spec.ServiceAccountName = "robot"
		p.Spec.Volumes = []corev1.Volume{{Name: "tokens", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "api"}},
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "vault", Audience: "vault", ExpirationSeconds: &twoHours}},
		}}}}}
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "tokens", MountPath: "/var/run/secrets/tokens"}}
	}))
	e.waitPod("tokens", 30*time.Second, "Running", running)
	dir := e.kubelet.volumeDir(p, "tokens")
	apiToken, vaultToken := readFile(t, filepath.Join(dir, "api")), readFile(t, filepath.Join(dir, "vault"))

	info, err := e.whoami(apiToken)
	if err != nil {
		t.Fatalf("the projected token does not authenticate: %v", err)
	}
	if info.Username != "system:serviceaccount:default:robot" || strings.Join(info.Extra["authentication.kubernetes.io/pod-uid"], "") != string(p.UID) {
		t.Errorf("authenticated as %+v", info)
	}
	var claims struct {
		Aud      any
		Exp, Iat int64
	}
	jwtClaims(t, vaultToken, &claims)
	if claims.Aud != "vault" || claims.Exp-claims.Iat != twoHours {
		t.Errorf("vault token claims %+v, want audience vault valid for 2h", claims)
	}
	if _, err := e.whoami(vaultToken); !apierrors.IsUnauthorized(err) {
		t.Errorf("a token for another audience authenticated to the API server: %v", err)
	}

	for i := 0; i < 50 && e.logs("tokens", "main", "") != "ok\n"; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if got := e.logs("tokens", "main", ""); got != "ok\n" {
		t.Errorf("the container does not see both token files: %q", got)
	}

	// Once 80% of its lifetime has passed, the token is replaced in place.
	e.kubelet.mu.Lock()
	for key, tok := range e.kubelet.tokens {
		if strings.HasPrefix(key, string(p.UID)+"/api/") {
			tok.issued, tok.expires = tok.issued.Add(-50*time.Minute), tok.expires.Add(-50*time.Minute)
			e.kubelet.tokens[key] = tok
		}
	}
	e.kubelet.mu.Unlock()
	refreshed := apiToken
	for deadline := time.Now().Add(15 * time.Second); refreshed == apiToken && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		refreshed = readFile(t, filepath.Join(dir, "api"))
	}
	if refreshed == apiToken {
		t.Fatal("token not refreshed after 80% of its lifetime")
	}
	if _, err := e.whoami(refreshed); err != nil {
		t.Errorf("the refreshed token does not authenticate: %v", err)
	}

	if err := e.client.CoreV1().Pods("default").Delete(ctx, "tokens", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, err := e.client.CoreV1().Pods("default").Get(ctx, "tokens", metav1.GetOptions{}); !apierrors.IsNotFound(err); _, err = e.client.CoreV1().Pods("default").Get(ctx, "tokens", metav1.GetOptions{}) {
		if time.Now().After(deadline) {
			t.Fatalf("pod not deleted: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, tok := range []string{apiToken, refreshed} {
		if _, err := e.whoami(tok); !apierrors.IsUnauthorized(err) {
			t.Errorf("token of a deleted pod: want 401, got %v", err)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		t.Fatalf("token file %s: %q, %v", path, b, err)
	}
	return string(b)
}

// whoami asks the API server who a bearer token authenticates as.
func (e *env) whoami(token string) (authenticationv1.UserInfo, error) {
	var review authenticationv1.SelfSubjectReview
	err := e.client.AuthenticationV1().RESTClient().Post().AbsPath("/apis/authentication.k8s.io/v1/selfsubjectreviews").
		SetHeader("Authorization", "Bearer "+token).Body(&authenticationv1.SelfSubjectReview{}).Do(context.Background()).Into(&review)
	return review.Status.UserInfo, err
}

func jwtClaims(t *testing.T, token string, into any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatal(err)
	}
}
