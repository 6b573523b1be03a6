package kubelet

import (
	"context"
	"fmt"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// Projected serviceAccountToken sources: the kubelet asks the API server for a token of the pod's
// service account bound to the pod (TokenRequest), caches it, and requests a new one once 80% of
// its lifetime has passed or it is 24 hours old, as upstream's token manager does. The volume
// sync then rewrites the file atomically.

const (
	defaultTokenSeconds = 3600
	maxTokenAge         = 24 * time.Hour
)

// cachedToken is a token the API server issued for one projected source of one pod.
type cachedToken struct {
	token []byte
	// issued and expires are the token's validity window as the TokenRequest answered it.
	issued, expires time.Time
}

// needsRefresh: a token is renewed once 80% of its lifetime has passed, or after 24 hours.
func (t cachedToken) needsRefresh(now time.Time) bool {
	life := t.expires.Sub(t.issued)
	return !now.Before(t.expires.Add(-life/5)) || !now.Before(t.issued.Add(maxTokenAge))
}

func tokenKey(pod *corev1.Pod, p *corev1.ServiceAccountTokenProjection) string {
	exp := int64(defaultTokenSeconds)
	if p.ExpirationSeconds != nil {
		exp = *p.ExpirationSeconds
	}
	return fmt.Sprintf("%s/%s/%s/%d", pod.UID, p.Path, p.Audience, exp)
}

// cachedToken returns the pod's token for the source, requesting a new one when the cached one
// is due for refresh. A failed refresh keeps serving a cached token that has not yet expired.
func (k *Kubelet) cachedToken(ctx context.Context, pod *corev1.Pod, p *corev1.ServiceAccountTokenProjection) ([]byte, error) {
	key := tokenKey(pod, p)
	now := time.Now()
	k.mu.Lock()
	t, ok := k.tokens[key]
	k.mu.Unlock()
	if ok && !t.needsRefresh(now) {
		return t.token, nil
	}
	fresh, err := k.requestToken(ctx, pod, p)
	switch {
	case err == nil:
		k.mu.Lock()
		k.tokens[key] = fresh
		k.mu.Unlock()
		return fresh.token, nil
	case ok && now.Before(t.expires):
		k.log.Warn("refresh service account token failed; keeping the current one", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		return t.token, nil
	case apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err):
		// No TokenRequest API, or no such service account (yet): not cached, so that a real
		// token replaces the fallback as soon as one can be issued.
		return k.legacyToken(pod.Namespace, serviceAccountName(pod)), nil
	}
	return nil, err
}

// forgetTokens drops the cached tokens of a pod that is gone.
func (k *Kubelet) forgetTokens(uid types.UID) {
	prefix := string(uid) + "/"
	k.mu.Lock()
	defer k.mu.Unlock()
	for key := range k.tokens {
		if strings.HasPrefix(key, prefix) {
			delete(k.tokens, key)
		}
	}
}

func serviceAccountName(pod *corev1.Pod) string {
	if pod.Spec.ServiceAccountName == "" {
		return "default"
	}
	return pod.Spec.ServiceAccountName
}

// requestToken asks the API server for a token of the pod's service account bound to the pod,
// with the source's audience (default: the API server's) and lifetime.
func (k *Kubelet) requestToken(ctx context.Context, pod *corev1.Pod, p *corev1.ServiceAccountTokenProjection) (cachedToken, error) {
	exp := int64(defaultTokenSeconds)
	if p.ExpirationSeconds != nil {
		exp = *p.ExpirationSeconds
	}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: &exp,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if p.Audience != "" {
		tr.Spec.Audiences = []string{p.Audience}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := k.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, serviceAccountName(pod), tr, metav1.CreateOptions{})
	if err != nil {
		return cachedToken{}, fmt.Errorf("request service account token: %w", err)
	}
	return tokenFromResponse(resp, time.Now()), nil
}

// tokenFromResponse reads the token and its validity window; the lifetime is the one the server
// granted (it may shorten or lengthen the requested one).
func tokenFromResponse(resp *authenticationv1.TokenRequest, now time.Time) cachedToken {
	expires := resp.Status.ExpirationTimestamp.Time
	if expires.IsZero() {
		expires = now.Add(defaultTokenSeconds * time.Second)
	}
	issued := now
	if resp.Spec.ExpirationSeconds != nil {
		issued = expires.Add(-time.Duration(*resp.Spec.ExpirationSeconds) * time.Second)
	}
	return cachedToken{token: []byte(strings.TrimSpace(resp.Status.Token)), issued: issued, expires: expires}
}

// PlaceholderToken is mounted as a service account token when the API
// server serves no TokenRequest and holds no token Secret for the account.
const PlaceholderToken = "klite-placeholder-service-account-token"

// legacyToken is the token of a kubernetes.io/service-account-token Secret
// of the account, else PlaceholderToken.
func (k *Kubelet) legacyToken(ns, sa string) []byte {
	secrets, _ := k.secrets.Secrets(ns).List(labels.Everything())
	for _, s := range secrets {
		if s.Type == corev1.SecretTypeServiceAccountToken && s.Annotations[corev1.ServiceAccountNameKey] == sa && len(s.Data["token"]) > 0 {
			return s.Data["token"]
		}
	}
	return []byte(PlaceholderToken)
}
