package cri

import "testing"

// TestResolveID: crictl accepts unambiguous ID prefixes; anything else is passed on as given
// (so that the lookup reports it not found).
func TestResolveID(t *testing.T) {
	ids := []string{"abc123", "abd456", "ff00"}
	for _, tc := range []struct{ in, want string }{
		{"abc123", "abc123"}, // exact
		{"abc", "abc123"},    // unique prefix
		{"ab", "ab"},         // ambiguous
		{"ff", "ff00"},
		{"zz", "zz"}, // unknown
	} {
		if got := resolveID(ids, tc.in); got != tc.want {
			t.Errorf("resolveID(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
