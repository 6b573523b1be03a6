package auth

import (
	"net/http"
	"testing"
)

// TestUnionTriesEveryAuthenticator: a token one authenticator rejects may still be another's
// (the API server's loopback token list comes before the static tokens and node join token).
func TestUnionTriesEveryAuthenticator(t *testing.T) {
	u := Union{Tokens{"loopback": {Name: "loopback"}}, Tokens{"node-join": {Name: "node"}}}
	for _, tc := range []struct {
		header   string
		wantUser string
		wantErr  bool
	}{
		{"Bearer loopback", "loopback", false},
		{"Bearer node-join", "node", false},
		{"Bearer nobody", "", true},
		{"", "", false}, // no credential: anonymous, left to the caller
	} {
		r, _ := http.NewRequest(http.MethodGet, "/api", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		user, ok, err := u.Authenticate(r)
		if (err != nil) != tc.wantErr || ok != (tc.wantUser != "") || (ok && user.Name != tc.wantUser) {
			t.Errorf("%q: user %v ok %v err %v; want %q (error %v)", tc.header, user, ok, err, tc.wantUser, tc.wantErr)
		}
	}
}
