package apiserver

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/klite/klite/internal/apiserver/auth"
)

// DefaultServiceAccountIssuer is the "iss" of service-account tokens unless configured otherwise.
const DefaultServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local"

// ServiceAccountTokens configures the TokenRequest API (POST serviceaccounts/<name>/token), the
// authentication of the tokens it issues, and OIDC discovery of their issuer.
type ServiceAccountTokens struct {
	// Issuer signs new tokens. Nil generates an in-memory ES256 key named
	// DefaultServiceAccountIssuer: its tokens are only good until the server stops, and only on
	// this server.
	Issuer *auth.TokenIssuer
	// Issuers are further issuer names accepted in tokens (names the cluster used before).
	Issuers []string
	// Keys also verify tokens besides the issuer's own key (keys being rotated out, or the keys
	// of other API servers of the cluster).
	Keys []crypto.PublicKey
	// APIAudiences are the audiences the API server accepts, and the audiences of tokens
	// requested without any (default: the issuer).
	APIAudiences []string
}

const (
	tokenDefaultSeconds = 3600
	tokenMinSeconds     = 600
	tokenMaxSeconds     = 1 << 32
)

// tokenAPI issues service-account tokens.
type tokenAPI struct {
	s         *Server
	issuer    *auth.TokenIssuer
	keys      []crypto.PublicKey
	audiences []string
}

// enableServiceAccountTokens completes the service-account token config, puts the token
// authenticator in front of the configured ones and adds the token, self-review and OIDC routes.
func (s *Server) enableServiceAccountTokens() error {
	t, err := newTokenAPI(s, s.cfg.ServiceAccounts)
	if err != nil {
		return err
	}
	s.cfg.Authenticator = auth.Union{&auth.ServiceAccountTokens{
		Issuers: append([]string{t.issuer.Issuer()}, s.cfg.ServiceAccounts.Issuers...), Keys: t.keys, Audiences: t.audiences,
		Lookup: objectLookup{s}, Now: s.cfg.Now,
	}, s.cfg.Authenticator}
	extra := maps.Clone(s.cfg.Extra)
	if extra == nil {
		extra = map[string]http.Handler{}
	}
	extra["POST /api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"] = http.HandlerFunc(t.createToken)
	extra["POST /apis/authentication.k8s.io/v1/selfsubjectreviews"] = http.HandlerFunc(t.selfSubjectReview)
	extra["GET /.well-known/openid-configuration"] = http.HandlerFunc(t.openIDConfiguration)
	extra["GET /openid/v1/jwks"] = http.HandlerFunc(t.jwks)
	s.cfg.Extra = extra
	return nil
}

func newTokenAPI(s *Server, cfg ServiceAccountTokens) (*tokenAPI, error) {
	t := &tokenAPI{s: s, issuer: cfg.Issuer, audiences: cfg.APIAudiences}
	if t.issuer == nil {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		if t.issuer, err = auth.NewTokenIssuer(DefaultServiceAccountIssuer, key); err != nil {
			return nil, err
		}
	}
	if len(t.audiences) == 0 {
		t.audiences = []string{t.issuer.Issuer()}
	}
	t.keys = append([]crypto.PublicKey{t.issuer.PublicKey()}, cfg.Keys...)
	return t, nil
}

// createToken serves POST /api/v1/namespaces/{namespace}/serviceaccounts/{name}/token.
func (t *tokenAPI) createToken(w http.ResponseWriter, r *http.Request) {
	ri := requestInfo{version: "v1", namespace: r.PathValue("namespace"), resource: "serviceaccounts",
		name: r.PathValue("name"), subresource: "token", verb: "create"}
	out, err := negotiate(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := t.admit(r, ri); err != nil {
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout(r))
	defer cancel()
	req, err := t.decodeTokenRequest(r, ri)
	if err != nil {
		writeError(w, err)
		return
	}
	resp, err := t.issue(ctx, ri, req)
	if err != nil {
		writeError(w, err)
		return
	}
	writeObject(w, http.StatusCreated, resp, out)
}

// admit is what serveAPI does before a resource request: readiness and authorization.
func (t *tokenAPI) admit(r *http.Request, ri requestInfo) error {
	if !t.s.Ready() {
		return apierrors.NewServiceUnavailable("the API server is starting")
	}
	return t.s.authorize(r, ri)
}

func (t *tokenAPI) decodeTokenRequest(r *http.Request, ri requestInfo) (*authenticationv1.TokenRequest, error) {
	body, err := t.s.readBody(r)
	if err != nil {
		return nil, err
	}
	obj, _, err := t.s.codec.decodeBody(body, r.Header.Get("Content-Type"), authenticationv1.SchemeGroupVersion.WithKind("TokenRequest"), "Ignore")
	if err != nil {
		return nil, err
	}
	req := obj.(*authenticationv1.TokenRequest)
	gk := schema.GroupKind{Group: authenticationv1.GroupName, Kind: "TokenRequest"}
	var errs field.ErrorList
	if req.Name != "" && req.Name != ri.name {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), req.Name, "must match the service account name if specified"))
	}
	if req.Namespace != "" && req.Namespace != ri.namespace {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "namespace"), req.Namespace, "must match the service account namespace if specified"))
	}
	if req.Spec.ExpirationSeconds == nil {
		req.Spec.ExpirationSeconds = ptrTo(int64(tokenDefaultSeconds))
	}
	switch exp := *req.Spec.ExpirationSeconds; {
	case exp < tokenMinSeconds:
		errs = append(errs, field.Invalid(field.NewPath("spec", "expirationSeconds"), exp, "may not specify a duration less than 10 minutes"))
	case exp > tokenMaxSeconds:
		errs = append(errs, field.Invalid(field.NewPath("spec", "expirationSeconds"), exp, "may not specify a duration larger than 2^32 seconds"))
	}
	if len(errs) > 0 {
		return nil, apierrors.NewInvalid(gk, ri.name, errs)
	}
	if len(req.Spec.Audiences) == 0 {
		req.Spec.Audiences = t.audiences
	}
	return req, nil
}

// issue looks up the service account and the bound object and signs the token.
func (t *tokenAPI) issue(ctx context.Context, ri requestInfo, req *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
	obj, _, err := t.s.stores[core.WithResource("serviceaccounts")].get(ctx, ri.namespace, ri.name)
	if err != nil {
		return nil, err
	}
	sa := obj.(*corev1.ServiceAccount)
	if req.UID != "" && req.UID != sa.UID {
		return nil, apierrors.NewConflict(schema.GroupResource{Group: authenticationv1.GroupName, Resource: "TokenRequest"}, ri.name,
			fmt.Errorf("the UID in the token request (%s) does not match the UID of the service account (%s)", req.UID, sa.UID))
	}
	bound, err := t.boundObjects(ctx, ri, req.Spec.BoundObjectRef)
	if err != nil {
		return nil, err
	}
	now := t.s.cfg.Now()
	lifetime := time.Duration(*req.Spec.ExpirationSeconds) * time.Second
	claims := auth.NewClaims(auth.ObjectRef{Name: sa.Name, UID: string(sa.UID)}, sa.Namespace, req.Spec.Audiences, now, lifetime, string(uuid.NewUUID()), bound)
	token, err := t.issuer.Sign(claims)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("failed to generate token: %w", err))
	}
	out := req.DeepCopy()
	out.TypeMeta = metav1.TypeMeta{APIVersion: authenticationv1.SchemeGroupVersion.String(), Kind: "TokenRequest"}
	out.Name, out.Namespace, out.UID = sa.Name, sa.Namespace, sa.UID
	out.CreationTimestamp = metav1.NewTime(now.Truncate(time.Second))
	out.Status = authenticationv1.TokenRequestStatus{Token: token, ExpirationTimestamp: metav1.NewTime(time.Unix(claims.Expiry, 0))}
	return out, nil
}

// boundObjects resolves the token's boundObjectRef: a Pod of this service account (with the
// node it is scheduled to), a Secret or a Node, which must exist (with the given uid, if any).
func (t *tokenAPI) boundObjects(ctx context.Context, ri requestInfo, ref *authenticationv1.BoundObjectReference) (auth.BoundObjects, error) {
	var b auth.BoundObjects
	if ref == nil {
		return b, nil
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil || gv.Group != "" {
		return b, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token to object of type %s", schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind)))
	}
	var uid string
	switch ref.Kind {
	case "Pod":
		b.Pod, b.Node, err = t.boundPod(ctx, ri, ref.Name)
		uid = refUID(b.Pod)
	case "Secret":
		b.Secret, err = t.lookupRef(ctx, "secrets", ri.namespace, ref.Name)
		uid = refUID(b.Secret)
	case "Node":
		b.Node, err = t.lookupRef(ctx, "nodes", "", ref.Name)
		uid = refUID(b.Node)
	default:
		return b, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token to object of type %s", gv.WithKind(ref.Kind)))
	}
	if err != nil {
		return b, err
	}
	if ref.UID != "" && string(ref.UID) != uid {
		return b, apierrors.NewConflict(schema.GroupResource{Resource: ref.Kind}, ref.Name,
			fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID))
	}
	return b, nil
}

func refUID(r *auth.ObjectRef) string {
	if r == nil {
		return ""
	}
	return r.UID
}

// boundPod returns the pod, which must run as the service account, and its node (name only when
// the Node object does not exist).
func (t *tokenAPI) boundPod(ctx context.Context, ri requestInfo, name string) (*auth.ObjectRef, *auth.ObjectRef, error) {
	obj, _, err := t.s.stores[core.WithResource("pods")].get(ctx, ri.namespace, name)
	if err != nil {
		return nil, nil, err
	}
	pod := obj.(*corev1.Pod)
	if sa := pod.Spec.ServiceAccountName; sa != ri.name && !(sa == "" && ri.name == "default") {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token for serviceaccount %q to pod running with different serviceaccount name.", ri.name))
	}
	podRef := &auth.ObjectRef{Name: pod.Name, UID: string(pod.UID)}
	if pod.Spec.NodeName == "" {
		return podRef, nil, nil
	}
	node, err := t.lookupRef(ctx, "nodes", "", pod.Spec.NodeName)
	if apierrors.IsNotFound(err) {
		return podRef, &auth.ObjectRef{Name: pod.Spec.NodeName}, nil
	}
	return podRef, node, err
}

// lookupRef reads an object's name and uid (as an API error when it fails).
func (t *tokenAPI) lookupRef(ctx context.Context, resource, namespace, name string) (*auth.ObjectRef, error) {
	obj, _, err := t.s.stores[core.WithResource(resource)].get(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	return &auth.ObjectRef{Name: m.GetName(), UID: string(m.GetUID())}, nil
}

// objectLookup answers the token authenticator's lookups from storage.
type objectLookup struct{ s *Server }

func (l objectLookup) LookupObject(ctx context.Context, resource, namespace, name string) (auth.ObjectState, error) {
	st := l.s.stores[core.WithResource(resource)]
	if st == nil {
		return auth.ObjectState{}, fmt.Errorf("unknown resource %q", resource)
	}
	// The watch cache answers most lookups (every request bearing a token makes them); an
	// object it lacks may be newer than the cache, so etcd has the last word on absence.
	var obj runtime.Object
	if e, ok := st.cache.Get(st.key(namespace, name)); ok {
		obj = e.Obj
	} else {
		var err error
		obj, _, err = st.get(ctx, namespace, name)
		if apierrors.IsNotFound(err) {
			return auth.ObjectState{}, auth.ErrObjectNotFound
		}
		if err != nil {
			return auth.ObjectState{}, err
		}
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return auth.ObjectState{}, errors.New("stored object has no metadata")
	}
	state := auth.ObjectState{UID: string(m.GetUID())}
	if dt := m.GetDeletionTimestamp(); dt != nil {
		state.DeletionTimestamp = &dt.Time
	}
	return state, nil
}

func ptrTo[T any](v T) *T { return &v }
