package auth

import (
	"crypto"
	"encoding/json"
	"fmt"
	"time"
)

// Claims are a service-account token's JWT claims, named as upstream's tokens name them.
type Claims struct {
	Issuer     string            `json:"iss,omitempty"`
	Subject    string            `json:"sub,omitempty"`
	Audience   Audience          `json:"aud,omitempty"`
	Expiry     int64             `json:"exp,omitempty"`
	IssuedAt   int64             `json:"iat,omitempty"`
	NotBefore  int64             `json:"nbf,omitempty"`
	ID         string            `json:"jti,omitempty"`
	Kubernetes *KubernetesClaims `json:"kubernetes.io,omitempty"`
}

// KubernetesClaims is the private "kubernetes.io" claim: the service account and the object the
// token is bound to (a pod, with the node it runs on; a secret; or a node).
type KubernetesClaims struct {
	Namespace      string     `json:"namespace,omitempty"`
	ServiceAccount ObjectRef  `json:"serviceaccount"`
	Pod            *ObjectRef `json:"pod,omitempty"`
	Secret         *ObjectRef `json:"secret,omitempty"`
	Node           *ObjectRef `json:"node,omitempty"`
	WarnAfter      int64      `json:"warnafter,omitempty"`
}

// ObjectRef names an object by name and uid.
type ObjectRef struct {
	Name string `json:"name,omitempty"`
	UID  string `json:"uid,omitempty"`
}

// Audience is the "aud" claim: one string or a list of them on the wire.
type Audience []string

// MarshalJSON writes a single audience as a plain string, as upstream does.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// UnmarshalJSON accepts a string or a list of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = Audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("aud: want a string or a list of strings")
	}
	*a = many
	return nil
}

// intersects reports whether a and b share an audience.
func (a Audience) intersects(b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// ServiceAccountUsername is the user name of a service account: system:serviceaccount:NS:NAME.
func ServiceAccountUsername(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// TokenIssuer signs service-account tokens with one private key.
type TokenIssuer struct {
	issuer string
	key    crypto.Signer
	kid    string
}

// NewTokenIssuer returns an issuer that names itself issuer in the tokens it signs with key (an
// RSA or ECDSA P-256 private key).
func NewTokenIssuer(issuer string, key crypto.Signer) (*TokenIssuer, error) {
	if issuer == "" {
		return nil, fmt.Errorf("service account issuer must not be empty")
	}
	if _, err := algorithm(key.Public()); err != nil {
		return nil, err
	}
	kid, err := KeyID(key.Public())
	if err != nil {
		return nil, err
	}
	return &TokenIssuer{issuer: issuer, key: key, kid: kid}, nil
}

// Issuer is the "iss" of the tokens this issuer signs.
func (i *TokenIssuer) Issuer() string { return i.issuer }

// PublicKey is the key that verifies this issuer's tokens.
func (i *TokenIssuer) PublicKey() crypto.PublicKey { return i.key.Public() }

// Sign sets the claims' issuer and returns the signed compact token.
func (i *TokenIssuer) Sign(c Claims) (string, error) {
	c.Issuer = i.issuer
	return signJWS(i.key, i.kid, c)
}

// NewClaims builds the claims of a token for the service account, valid from now for lifetime,
// bound to pod (with node, the node it runs on), secret or node when given.
func NewClaims(sa ObjectRef, namespace string, audiences []string, now time.Time, lifetime time.Duration, jti string, bound BoundObjects) Claims {
	return Claims{
		Subject:   ServiceAccountUsername(namespace, sa.Name),
		Audience:  Audience(audiences),
		IssuedAt:  now.Unix(),
		NotBefore: now.Unix(),
		Expiry:    now.Add(lifetime).Unix(),
		ID:        jti,
		Kubernetes: &KubernetesClaims{
			Namespace: namespace, ServiceAccount: sa,
			Pod: bound.Pod, Secret: bound.Secret, Node: bound.Node,
		},
	}
}

// BoundObjects are the objects a token is bound to: a pod (and the node it is scheduled to), a
// secret, or a node alone.
type BoundObjects struct {
	Pod, Secret, Node *ObjectRef
}
