package apiserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/klite/klite/internal/apiserver/auth"
)

// publicPaths answer anonymous requests.
var publicPaths = map[string]bool{"/healthz": true, "/livez": true, "/readyz": true, "/version": true}

func (s *Server) buildHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", s.health)
	mux.HandleFunc("/livez", s.health)
	mux.HandleFunc("/readyz", s.readyz)
	mux.HandleFunc("/version", s.version)
	mux.HandleFunc("/api", s.apiVersions)
	mux.HandleFunc("/apis", s.apiGroups)
	mux.Handle("/openapi/v2", s.openapi)
	mux.Handle("/openapi/v3", s.openapi)
	mux.Handle("/openapi/v3/", s.openapi)
	for prefix, h := range s.cfg.Extra {
		mux.Handle(prefix, h)
	}
	mux.HandleFunc("/", s.serveAPI)
	return s.authenticate(mux)
}

// authenticate resolves the caller and rejects anonymous requests outside the public paths.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, ok, err := s.cfg.Authenticator.Authenticate(r)
		if err != nil || (!ok && !publicPaths[strings.TrimSuffix(r.URL.Path, "/")] && !publicPaths[r.URL.Path]) {
			writeError(w, apierrors.NewUnauthorized("Unauthorized"))
			return
		}
		if ok {
			r = r.WithContext(auth.WithUser(r.Context(), user))
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok")
}

// readyz answers ok once the server is started and etcd answers; otherwise it lists the failed
// checks, as upstream does.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var failed []string
	if !s.Ready() {
		failed = append(failed, "[-]informer-sync failed: the API server is starting")
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.cfg.Storage.CurrentRevision(ctx); err != nil {
		failed = append(failed, "[-]etcd failed: "+err.Error())
	}
	if len(failed) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, strings.Join(failed, "\n")+"\nreadyz check failed")
		return
	}
	_, _ = io.WriteString(w, "ok")
}

// serveAPI routes resource and group-version discovery requests.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	parts := splitPath(r.URL.Path)
	switch {
	case len(parts) == 2 && parts[0] == "api":
		s.resourceList(w, r, schema.GroupVersion{Version: parts[1]})
		return
	case len(parts) == 2 && parts[0] == "apis":
		s.apiGroup(w, r, parts[1])
		return
	case len(parts) == 3 && parts[0] == "apis":
		s.resourceList(w, r, schema.GroupVersion{Group: parts[1], Version: parts[2]})
		return
	}
	ri, ok := parseResourcePath(r)
	if !ok {
		writeError(w, apierrors.NewNotFound(schema.GroupResource{}, ""))
		return
	}
	st := s.stores[schema.GroupVersionResource{Group: ri.group, Version: ri.version, Resource: ri.resource}]
	if st == nil {
		writeError(w, apierrors.NewNotFound(schema.GroupResource{Group: ri.group, Resource: ri.resource}, ri.name))
		return
	}
	if !s.Ready() {
		writeError(w, apierrors.NewServiceUnavailable("the API server is starting"))
		return
	}
	if err := s.authorize(r, ri); err != nil {
		writeError(w, err)
		return
	}
	if !st.res.namespaced {
		ri.namespace = ""
	}
	if ri.verb != "watch" && !isStreaming(ri.subresource) {
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout(r))
		defer cancel()
		r = r.WithContext(ctx)
	}
	s.serveResource(w, r, st, ri)
}

// isStreaming: subresources whose responses are long-lived streams (logs -f, exec, ...).
func isStreaming(sub string) bool {
	switch sub {
	case "log", "exec", "attach", "portforward", "proxy":
		return true
	}
	return false
}

// requestTimeout is the client's `timeout` (as client-go sends it), at most a minute as upstream.
func requestTimeout(r *http.Request) time.Duration {
	const max = 60 * time.Second
	if d, err := time.ParseDuration(r.URL.Query().Get("timeout")); err == nil && d > 0 && d < max {
		return d
	}
	return max
}

func (s *Server) authorize(r *http.Request, ri requestInfo) error {
	a := auth.Attributes{
		User: auth.UserFrom(r.Context()), Verb: ri.verb, Group: ri.group, Resource: ri.resource,
		Subresource: ri.subresource, Namespace: ri.namespace, Name: ri.name,
	}
	ok, reason, err := s.cfg.Authorizer.Authorize(r.Context(), a)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	if !ok {
		return apierrors.NewForbidden(schema.GroupResource{Group: ri.group, Resource: ri.resource}, ri.name,
			errors.New(forbiddenMessage(a, reason)))
	}
	return nil
}

// forbiddenMessage says who may not do what, where, in upstream's words.
func forbiddenMessage(a auth.Attributes, reason string) string {
	user := ""
	if a.User != nil {
		user = a.User.Name
	}
	resource := a.Resource
	if a.Subresource != "" {
		resource += "/" + a.Subresource
	}
	scope := "at the cluster scope"
	if a.Namespace != "" {
		scope = fmt.Sprintf("in the namespace %q", a.Namespace)
	}
	msg := fmt.Sprintf("User %q cannot %s resource %q in API group %q %s", user, a.Verb, resource, a.Group, scope)
	if reason != "" {
		msg += ": " + reason
	}
	return msg
}

// serveResource dispatches on verb and subresource.
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request, st *store, ri requestInfo) {
	if ri.subresource != "" {
		s.serveSubresource(w, r, st, ri)
		return
	}
	switch ri.verb {
	case "get":
		s.getObject(w, r, st, ri)
	case "list":
		s.list(w, r, st, ri)
	case "watch":
		s.watch(w, r, st, ri)
	case "create":
		if ri.name != "" {
			writeError(w, methodNotAllowed(r, st))
			return
		}
		s.createObject(w, r, st, ri)
	case "update":
		s.updateObject(w, r, st, ri, "")
	case "patch":
		s.patchObject(w, r, st, ri, "")
	case "delete":
		s.deleteObject(w, r, st, ri)
	case "deletecollection":
		s.deleteCollection(w, r, st, ri)
	default:
		writeError(w, methodNotAllowed(r, st))
	}
}

func (s *Server) serveSubresource(w http.ResponseWriter, r *http.Request, st *store, ri requestInfo) {
	res := st.res
	switch {
	case ri.subresource == "status" && res.status:
		switch ri.verb {
		case "get":
			s.getObject(w, r, st, ri)
		case "update":
			s.updateObject(w, r, st, ri, "status")
		case "patch":
			s.patchObject(w, r, st, ri, "status")
		default:
			writeError(w, methodNotAllowed(r, st))
		}
	case ri.subresource == "scale" && res.scale:
		s.serveScale(w, r, st, ri)
	case ri.subresource == "binding" && res.binding && ri.verb == "create":
		s.bind(w, r, st, ri)
	case ri.subresource == "eviction" && res.eviction && ri.verb == "create":
		s.evict(w, r, st, ri)
	case res.connect && (ri.subresource == "log" || ri.subresource == "exec" || ri.subresource == "attach" || ri.subresource == "portforward"):
		s.podConnect(w, r, st, ri)
	case res.proxy && ri.subresource == "proxy":
		s.nodeProxy(w, r, ri, ri.proxyPath)
	case ri.subresource == "finalize" && res.finalize && ri.verb == "update":
		s.updateObject(w, r, st, ri, "finalize")
	case ri.subresource == "binding" || ri.subresource == "eviction" || ri.subresource == "finalize":
		writeError(w, methodNotAllowed(r, st))
	default:
		writeError(w, apierrors.NewNotFound(schema.GroupResource{Group: ri.group, Resource: ri.resource + "/" + ri.subresource}, ri.name))
	}
}

func methodNotAllowed(r *http.Request, st *store) error {
	return apierrors.NewMethodNotSupported(st.res.gr(), r.Method)
}

// readBody reads at most the configured maximum; a larger body is 413.
func (s *Server) readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return nil, tooLarge(s.cfg.MaxBodyBytes)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("read request body: %v", err))
	}
	if int64(len(body)) > s.cfg.MaxBodyBytes {
		return nil, tooLarge(s.cfg.MaxBodyBytes)
	}
	return body, nil
}

func tooLarge(limit int64) error {
	return apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", limit))
}
