package kubelet

import (
	"crypto/x509"
	"net/http"
	"slices"
)

// Identities the kubelet API serves in full. The API server reaches
// kubelets as APIServerKubeletClientName (in group system:masters); any
// member of system:masters is a cluster administrator.
const (
	APIServerKubeletClientName = "kube-apiserver-kubelet-client"
	groupMasters               = "system:masters"
)

// user is an authenticated kubelet API client: a verified client
// certificate's CommonName and Organizations, as the API server reads them.
type user struct {
	name   string
	groups []string
}

// userFromCert reads the identity of a verified client certificate.
func userFromCert(c *x509.Certificate) user {
	return user{name: c.Subject.CommonName, groups: c.Subject.Organization}
}

// authorize decides whether u may call path. The API server's kubelet
// client and system:masters may use everything; any other authenticated
// user only /healthz (upstream's kubelet authorises everything else with a
// nodes/<subresource> SubjectAccessReview, which ordinary users fail).
func authorize(u user, path string) bool {
	if u.name == APIServerKubeletClientName || slices.Contains(u.groups, groupMasters) {
		return true
	}
	return path == "/healthz"
}

// withAuth wraps the API's handler: with a client CA (verified by the TLS
// handshake), a request without a certificate gets 401 and an unauthorised
// one 403. Without a client CA every request passes (authn disabled).
func withAuth(h http.Handler, requireCert bool) http.Handler {
	if !requireCert {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		u := userFromCert(r.TLS.VerifiedChains[0][0])
		if !authorize(u, r.URL.Path) {
			http.Error(w, "Forbidden (user="+u.name+", path="+r.URL.Path+")", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}
