package apiserver

import (
	"net/http"
	"strings"
)

// requestInfo is what a resource URL names:
//
//	/api/v1[/namespaces/{ns}]/{resource}[/{name}[/{subresource}]]
//	/apis/{group}/{version}[/namespaces/{ns}]/{resource}[/{name}[/{subresource}]]
//
// and the legacy /api/v1/watch/... form.
type requestInfo struct {
	group, version string
	namespace      string
	resource       string
	name           string
	subresource    string
	verb           string // get list watch create update patch delete deletecollection
	proxyPath      string // what follows .../proxy/
	// manager records the write in managedFields ("" for writes that are not tracked);
	// applied says an apply patch already recorded it.
	manager string
	applied bool
}

// parseResourcePath splits a resource URL; ok is false for anything that is not one.
func parseResourcePath(r *http.Request) (requestInfo, bool) {
	parts := splitPath(r.URL.Path)
	var ri requestInfo
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		ri.version, parts = parts[1], parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		ri.group, ri.version, parts = parts[1], parts[2], parts[3:]
	default:
		return ri, false
	}
	watchPath := false
	if parts[0] == "watch" {
		watchPath, parts = true, parts[1:]
	}
	if len(parts) >= 3 && parts[0] == "namespaces" && !(len(parts) == 3 && isNamespaceSubresource(parts[2])) {
		ri.namespace, parts = parts[1], parts[2:]
	}
	if len(parts) > 3 && parts[2] == "proxy" {
		ri.proxyPath, parts = strings.Join(parts[3:], "/"), parts[:3]
	}
	if len(parts) == 0 || len(parts) > 3 {
		return ri, false
	}
	ri.resource = parts[0]
	if len(parts) > 1 {
		ri.name = parts[1]
	}
	if len(parts) > 2 {
		ri.subresource = parts[2]
	}
	ri.verb = verbOf(r, ri.name != "", watchPath)
	if ri.verb == "get" && isStreamingSubresource(ri.resource, ri.subresource) && isWebSocketUpgrade(r) {
		// kubectl opens exec, attach and port-forward WebSockets with GET; authorise them as the
		// create they are, as upstream does, so that read-only users cannot exec.
		ri.verb = "create"
	}
	return ri, true
}

func isStreamingSubresource(resource, sub string) bool {
	return resource == "pods" && (sub == "exec" || sub == "attach" || sub == "portforward")
}

func isWebSocketUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

func isNamespaceSubresource(s string) bool { return s == "status" || s == "finalize" }

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func verbOf(r *http.Request, named, watchPath bool) string {
	q := r.URL.Query()
	isWatch := watchPath || q.Get("watch") == "true" || q.Get("watch") == "1"
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		switch {
		case isWatch:
			return "watch"
		case named:
			return "get"
		}
		return "list"
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		if named {
			return "delete"
		}
		return "deletecollection"
	}
	return ""
}
