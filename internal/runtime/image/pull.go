package image

import (
	"context"
	"fmt"
	"net"
	"net/http"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Auth holds registry credentials, as the CRI's AuthConfig carries them.
type Auth struct {
	Username      string
	Password      string
	Auth          string // base64 "user:password"
	IdentityToken string
	RegistryToken string
}

// Normalize turns an image reference into its canonical form:
// "busybox" → "docker.io/library/busybox:latest",
// "reg:5000/a@sha256:..." stays a digest reference.
func Normalize(ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("parse image reference %q: %w", ref, err)
	}
	return canonical(r), nil
}

func canonical(r name.Reference) string {
	repo := repoName(r.Context())
	if d, ok := r.(name.Digest); ok {
		return repo + "@" + d.DigestStr()
	}
	return repo + ":" + r.Identifier()
}

func repoName(repo name.Repository) string {
	n := repo.Name()
	if rest, ok := strings.CutPrefix(n, name.DefaultRegistry+"/"); ok {
		return "docker.io/" + rest
	}
	return n
}

// Pull fetches ref from its registry for this machine's platform, unpacks
// its layers and records it. auth may be nil for anonymous access.
func (s *Store) Pull(ctx context.Context, ref string, auth *Auth) (*Image, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("parse image reference %q: %w", ref, err)
	}
	start := time.Now()
	from, err := s.mirrored(r)
	if err != nil {
		return nil, err
	}
	img, err := remote.Image(from,
		remote.WithContext(ctx),
		remote.WithAuth(authenticator(auth)),
		remote.WithPlatform(v1.Platform{OS: "linux", Architecture: goruntime.GOARCH}),
		remote.WithTransport(s.transport()))
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	var tags []string
	if _, isDigest := r.(name.Digest); !isDigest {
		tags = []string{canonical(r)}
	}
	repoDigest := repoName(r.Context()) + "@" + digest.String()
	out, err := s.add(ctx, img, tags, []string{repoDigest})
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	s.log.Info("pulled image", "ref", ref, "id", out.ID, "duration", time.Since(start))
	return out, nil
}

// mirrored returns where r is fetched from: r itself, or the same
// repository and tag or digest on the registry's mirror.
func (s *Store) mirrored(r name.Reference) (name.Reference, error) {
	reg := r.Context().RegistryStr()
	mirror, ok := s.cfg.Mirrors[reg]
	if !ok && reg == name.DefaultRegistry {
		mirror, ok = s.cfg.Mirrors["docker.io"]
	}
	if !ok {
		return r, nil
	}
	sep := ":"
	if _, isDigest := r.(name.Digest); isDigest {
		sep = "@"
	}
	m, err := name.ParseReference(mirror + "/" + r.Context().RepositoryStr() + sep + r.Identifier())
	if err != nil {
		return nil, fmt.Errorf("mirror %s of %s: %w", mirror, reg, err)
	}
	return m, nil
}

func authenticator(a *Auth) authn.Authenticator {
	if a == nil || *a == (Auth{}) {
		return authn.Anonymous
	}
	return authn.FromConfig(authn.AuthConfig{
		Username:      a.Username,
		Password:      a.Password,
		Auth:          a.Auth,
		IdentityToken: a.IdentityToken,
		RegistryToken: a.RegistryToken,
	})
}

// transport refuses plain-HTTP requests to registries that are not insecure:
// go-containerregistry on its own falls back to HTTP for private addresses.
func (s *Store) transport() http.RoundTripper {
	return &httpGuard{base: remote.DefaultTransport, insecure: s.Insecure}
}

// Insecure reports whether the registry host (host or host:port) may be
// reached over plain HTTP.
func (s *Store) Insecure(host string) bool {
	if contains(s.cfg.InsecureRegistries, host) {
		return true
	}
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
		if contains(s.cfg.InsecureRegistries, h) {
			return true
		}
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}

type httpGuard struct {
	base     http.RoundTripper
	insecure func(host string) bool
}

func (g *httpGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !g.insecure(req.URL.Host) {
		return nil, fmt.Errorf("plain HTTP to registry %s refused: not an insecure registry", req.URL.Host)
	}
	return g.base.RoundTrip(req)
}
