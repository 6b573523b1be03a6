package auth

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Service-account token failures callers may branch on.
var (
	ErrTokenExpired     = errors.New("service account token has expired")
	ErrTokenNotYetValid = errors.New("service account token is not valid yet")
	ErrTokenAudience    = errors.New("service account token audience is invalid")
	ErrTokenInvalidated = errors.New("service account token has been invalidated")
	// ErrObjectNotFound is what an ObjectLookup answers for an object that does not exist.
	ErrObjectNotFound = errors.New("object not found")
)

// Keys of User.Extra for service-account tokens, as upstream names them.
const (
	ExtraPodName      = "authentication.kubernetes.io/pod-name"
	ExtraPodUID       = "authentication.kubernetes.io/pod-uid"
	ExtraNodeName     = "authentication.kubernetes.io/node-name"
	ExtraNodeUID      = "authentication.kubernetes.io/node-uid"
	ExtraCredentialID = "authentication.kubernetes.io/credential-id"
)

// leeway is the clock skew tolerated on exp, nbf and iat, and how long a deleted (terminating)
// bound object keeps its tokens valid: a minute, as upstream.
const leeway = time.Minute

// ObjectState is what a token check needs to know about an object that exists.
type ObjectState struct {
	UID               string
	DeletionTimestamp *time.Time
}

// ObjectLookup reads the current state of an object a token names. resource is "serviceaccounts",
// "pods", "secrets" or "nodes" (cluster-scoped: namespace is empty). It returns ErrObjectNotFound
// when the object does not exist; any other error means the lookup itself failed.
type ObjectLookup interface {
	LookupObject(ctx context.Context, resource, namespace, name string) (ObjectState, error)
}

// ServiceAccountTokens authenticates bearer tokens issued by the TokenRequest API: the signature
// (any of Keys), the issuer (one of Issuers), the audience (one of Audiences), the validity window,
// and that the service account and the object the token is bound to still exist with the uids in
// the token. Tokens naming another issuer, and bearer tokens that are no JWT, are left to the
// next authenticator.
type ServiceAccountTokens struct {
	Issuers   []string
	Keys      []crypto.PublicKey
	Audiences []string
	Lookup    ObjectLookup
	Now       func() time.Time // default time.Now
}

// Authenticate implements Authenticator.
func (a *ServiceAccountTokens) Authenticate(r *http.Request) (*User, bool, error) {
	token, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !found {
		return nil, false, nil
	}
	t, c, ok := a.parse(strings.TrimSpace(token))
	if !ok {
		return nil, false, nil
	}
	u, err := a.verify(r.Context(), t, c)
	if err != nil {
		return nil, false, err
	}
	return u, true, nil
}

// Verify checks a token and returns its user.
func (a *ServiceAccountTokens) Verify(ctx context.Context, token string) (*User, error) {
	t, c, ok := a.parse(token)
	if !ok {
		return nil, errors.New("not a service account token of this issuer")
	}
	return a.verify(ctx, t, c)
}

// parse decodes a token; ok is false when it is no JWT of one of our issuers.
func (a *ServiceAccountTokens) parse(token string) (*jws, *Claims, bool) {
	t, err := parseJWS(token)
	if err != nil {
		return nil, nil, false
	}
	var c Claims
	if err := decodeStrictJSON(t.payload, &c); err != nil || !slices.Contains(a.Issuers, c.Issuer) {
		return nil, nil, false
	}
	return t, &c, true
}

func (a *ServiceAccountTokens) verify(ctx context.Context, t *jws, c *Claims) (*User, error) {
	if err := t.verify(a.Keys); err != nil {
		return nil, err
	}
	if err := a.checkTime(c); err != nil {
		return nil, err
	}
	if !c.Audience.intersects(a.Audiences) {
		return nil, ErrTokenAudience
	}
	k := c.Kubernetes
	if k == nil || k.Namespace == "" || k.ServiceAccount.Name == "" ||
		c.Subject != ServiceAccountUsername(k.Namespace, k.ServiceAccount.Name) {
		return nil, errors.New("service account token lacks the kubernetes.io claims")
	}
	if err := a.checkBound(ctx, c); err != nil {
		return nil, err
	}
	return serviceAccountUser(c), nil
}

func (a *ServiceAccountTokens) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// checkTime enforces exp, nbf and iat with a minute of leeway.
func (a *ServiceAccountTokens) checkTime(c *Claims) error {
	now := a.now()
	switch {
	case c.Expiry == 0 || now.Add(-leeway).After(time.Unix(c.Expiry, 0)):
		return ErrTokenExpired
	case c.NotBefore != 0 && now.Add(leeway).Before(time.Unix(c.NotBefore, 0)):
		return ErrTokenNotYetValid
	case c.IssuedAt != 0 && now.Add(leeway).Before(time.Unix(c.IssuedAt, 0)):
		return fmt.Errorf("service account token is issued in the future")
	}
	return nil
}

// checkBound requires the service account and the bound pod, secret or node (a node only when
// the token is bound to the node itself) to still exist with the token's uids.
func (a *ServiceAccountTokens) checkBound(ctx context.Context, c *Claims) error {
	k := c.Kubernetes
	type check struct {
		resource, namespace string
		ref                 *ObjectRef
	}
	checks := []check{{"serviceaccounts", k.Namespace, &k.ServiceAccount}, {"pods", k.Namespace, k.Pod}, {"secrets", k.Namespace, k.Secret}}
	if k.Pod == nil {
		checks = append(checks, check{"nodes", "", k.Node})
	}
	for _, ch := range checks {
		if ch.ref == nil {
			continue
		}
		if err := a.checkObject(ctx, ch.resource, ch.namespace, *ch.ref); err != nil {
			return err
		}
	}
	return nil
}

func (a *ServiceAccountTokens) checkObject(ctx context.Context, resource, namespace string, ref ObjectRef) error {
	if a.Lookup == nil {
		return fmt.Errorf("service account token: no object lookup configured")
	}
	st, err := a.Lookup.LookupObject(ctx, resource, namespace, ref.Name)
	switch {
	case errors.Is(err, ErrObjectNotFound):
		return fmt.Errorf("%w: %s %q no longer exists", ErrTokenInvalidated, resource, ref.Name)
	case err != nil:
		return fmt.Errorf("service account token: look up %s %q: %w", resource, ref.Name, err)
	case st.UID != ref.UID:
		return fmt.Errorf("%w: %s %q has uid %s, the token names %s", ErrTokenInvalidated, resource, ref.Name, st.UID, ref.UID)
	case st.DeletionTimestamp != nil && st.DeletionTimestamp.Before(a.now().Add(-leeway)):
		return fmt.Errorf("%w: %s %q is being deleted", ErrTokenInvalidated, resource, ref.Name)
	}
	return nil
}

// serviceAccountUser is the user a verified token authenticates as.
func serviceAccountUser(c *Claims) *User {
	k := c.Kubernetes
	u := &User{
		Name:   c.Subject,
		UID:    k.ServiceAccount.UID,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + k.Namespace, "system:authenticated"},
		Extra:  map[string][]string{},
	}
	if k.Pod != nil {
		u.Extra[ExtraPodName] = []string{k.Pod.Name}
		u.Extra[ExtraPodUID] = []string{k.Pod.UID}
		if k.Node != nil {
			u.Extra[ExtraNodeName] = []string{k.Node.Name}
			u.Extra[ExtraNodeUID] = []string{k.Node.UID}
		}
	} else if k.Node != nil && k.Secret == nil {
		u.Extra[ExtraNodeName] = []string{k.Node.Name}
		u.Extra[ExtraNodeUID] = []string{k.Node.UID}
	}
	if c.ID != "" {
		u.Extra[ExtraCredentialID] = []string{"JTI=" + c.ID}
	}
	if len(u.Extra) == 0 {
		u.Extra = nil
	}
	return u
}
