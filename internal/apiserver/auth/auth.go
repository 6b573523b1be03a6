// Package auth holds the API server's authentication and authorization stages: who is calling
// (x509 client certificates, static bearer tokens, service-account tokens) and whether they may
// do what they ask. It also signs service-account tokens (TokenIssuer) for the TokenRequest API.
package auth

import (
	"context"
	"crypto/subtle"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// User is an authenticated caller.
type User struct {
	Name   string
	UID    string
	Groups []string
	// Extra carries additional attributes, such as a service-account token's pod name and uid.
	Extra map[string][]string
}

// Authenticator identifies the caller of a request. ok is false when the request carries no
// credential this authenticator understands; err is set when it carries a bad one.
type Authenticator interface {
	Authenticate(r *http.Request) (u *User, ok bool, err error)
}

// Attributes describe one request for authorization.
type Attributes struct {
	User        *User
	Verb        string
	Group       string
	Resource    string
	Subresource string
	Namespace   string
	Name        string
	Path        string // for non-resource requests
}

// Authorizer decides whether a request may proceed.
type Authorizer interface {
	Authorize(ctx context.Context, a Attributes) (allowed bool, reason string, err error)
}

// AllowAuthenticated allows every authenticated user everything.
type AllowAuthenticated struct{}

func (AllowAuthenticated) Authorize(_ context.Context, a Attributes) (bool, string, error) {
	return a.User != nil, "", nil
}

// Union tries each authenticator in turn; the first that accepts the request decides. A request
// none accepts fails with their errors joined (or, when none objected, as anonymous).
type Union []Authenticator

func (u Union) Authenticate(r *http.Request) (*User, bool, error) {
	var errs []error
	for _, a := range u {
		user, ok, err := a.Authenticate(r)
		if ok {
			return user, true, nil
		}
		if err != nil {
			// Another authenticator may still know the credential (a static token the
			// loopback's token list does not hold, say), as upstream's union does.
			errs = append(errs, err)
		}
	}
	return nil, false, errors.Join(errs...)
}

// X509 authenticates TLS client certificates verified against the cluster CA (the TLS server
// config does the verification): the subject's CommonName is the user, Organizations its groups.
type X509 struct{}

func (X509) Authenticate(r *http.Request) (*User, bool, error) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return nil, false, nil
	}
	cert := r.TLS.VerifiedChains[0][0]
	groups := append([]string{}, cert.Subject.Organization...)
	return &User{Name: cert.Subject.CommonName, Groups: append(groups, "system:authenticated")}, true, nil
}

// Tokens authenticates static bearer tokens.
type Tokens map[string]User

// LoadTokenFile reads upstream's static token file format: token,user,uid,"group1,group2".
func LoadTokenFile(path string) (Tokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.Comment = '#'
	records, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("token file %s: %w", path, err)
	}
	t := Tokens{}
	for i, rec := range records {
		if len(rec) < 3 || rec[0] == "" || rec[1] == "" {
			return nil, fmt.Errorf("token file %s line %d: want token,user,uid[,groups]", path, i+1)
		}
		u := User{Name: rec[1], UID: rec[2]}
		if len(rec) > 3 && rec[3] != "" {
			u.Groups = strings.Split(rec[3], ",")
		}
		t[rec[0]] = u
	}
	return t, nil
}

func (t Tokens) Authenticate(r *http.Request) (*User, bool, error) {
	h := r.Header.Get("Authorization")
	token, found := strings.CutPrefix(h, "Bearer ")
	if !found {
		return nil, false, nil
	}
	token = strings.TrimSpace(token)
	for known, u := range t {
		if subtle.ConstantTimeCompare([]byte(known), []byte(token)) == 1 {
			u.Groups = append(append([]string{}, u.Groups...), "system:authenticated")
			return &u, true, nil
		}
	}
	return nil, false, fmt.Errorf("invalid bearer token")
}

type userKey struct{}

// WithUser returns ctx carrying u.
func WithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFrom returns the request's user, or nil.
func UserFrom(ctx context.Context) *User {
	u, _ := ctx.Value(userKey{}).(*User)
	return u
}
