package openapi

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// operation is one HTTP method on one path, version-neutral.
type operation struct {
	method       string // get, put, post, delete, patch
	id           string // operationId
	description  string
	action       string // x-kubernetes-action
	gvk          schema.GroupVersionKind
	params       []param
	body         string // definition name of the request body, if any
	bodyRequired bool
	patch        bool // the body is a patch in one of patchContentTypes
	responses    []response
	produces     []string // overrides the default JSON/YAML/protobuf
}

// response is one declared status code; ref "" means a plain string body.
type response struct {
	code int
	ref  string
}

// pathItem is one path with its path-level parameters and operations.
type pathItem struct {
	path   string
	params []param
	ops    []operation
}

var (
	objectContentTypes = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf"}
	watchContentTypes  = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf",
		"application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch"}
	patchContentTypes = []string{"application/json-patch+json", "application/merge-patch+json",
		"application/strategic-merge-patch+json", "application/apply-patch+yaml"}
)

const (
	defStatus        = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
	defDeleteOptions = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
	defWatchEvent    = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent"
	defPatch         = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
	defResourceList  = "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList"
)

// resourcePaths builds the operations of one resource and its subresources.
type resourcePaths struct {
	r       Resource
	objDef  string
	listDef string
	subs    map[string]subresourceInfo // resolved subresource types
}

// gvPrefix is the URL prefix of a group-version: /api/v1 or /apis/apps/v1.
func gvPrefix(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "/api/" + gv.Version
	}
	return "/apis/" + gv.Group + "/" + gv.Version
}

// gvKey is the key of a group-version in the /openapi/v3 index.
func gvKey(gv schema.GroupVersion) string {
	return strings.TrimPrefix(gvPrefix(gv), "/")
}

// groupWords splits a group into the words used in operation ids and tags:
// rbac.authorization.k8s.io gives [rbac authorization].
func groupWords(group string) []string {
	if group == "" {
		return []string{"core"}
	}
	group = strings.TrimSuffix(group, ".k8s.io")
	return strings.Split(group, ".")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// opName is the group-version part of operation ids, e.g. AppsV1.
func opName(gv schema.GroupVersion) string {
	var b strings.Builder
	for _, w := range groupWords(gv.Group) {
		b.WriteString(upperFirst(w))
	}
	return b.String() + upperFirst(gv.Version)
}

// tagName is the operation tag of a group-version, e.g. rbacAuthorization_v1.
func tagName(gv schema.GroupVersion) string {
	words := groupWords(gv.Group)
	for i := 1; i < len(words); i++ {
		words[i] = upperFirst(words[i])
	}
	return strings.Join(words, "") + "_" + gv.Version
}

func (p *resourcePaths) has(verb string) bool {
	return slices.Contains(p.r.Verbs, verb)
}

// id composes an operation id: verb + GV + [Namespaced] + Kind + suffix.
func (p *resourcePaths) id(verb string, namespaced bool, suffix string) string {
	ns := ""
	if namespaced {
		ns = "Namespaced"
	}
	return verb + opName(p.r.GVK.GroupVersion()) + ns + p.r.GVK.Kind + suffix
}

// items returns every path item of the resource.
func (p *resourcePaths) items() []pathItem {
	prefix := gvPrefix(p.r.GVK.GroupVersion())
	scope := prefix
	scopeParams := []param{paramPretty}
	if p.r.Namespaced {
		scope = prefix + "/namespaces/{namespace}"
		scopeParams = []param{paramNamespace, paramPretty}
	}
	coll := scope + "/" + p.r.Resource
	named := coll + "/{name}"
	namedParams := append([]param{paramName}, scopeParams...)

	var out []pathItem
	add := func(path string, params []param, ops []operation) {
		if len(ops) > 0 {
			out = append(out, pathItem{path: path, params: params, ops: ops})
		}
	}
	add(coll, scopeParams, p.collectionOps())
	add(named, namedParams, p.namedOps())
	if p.r.Namespaced && p.has("list") {
		add(prefix+"/"+p.r.Resource, []param{paramPretty}, []operation{p.listOp(false, "ForAllNamespaces")})
	}
	if p.has("watch") {
		watchScope := strings.Replace(scope, prefix, prefix+"/watch", 1)
		add(watchScope+"/"+p.r.Resource, scopeParams, []operation{p.watchOp(p.r.Namespaced, "List", "watchlist")})
		add(watchScope+"/"+p.r.Resource+"/{name}", namedParams, []operation{p.watchOp(p.r.Namespaced, "", "watch")})
		if p.r.Namespaced {
			add(prefix+"/watch/"+p.r.Resource, []param{paramPretty}, []operation{p.watchOp(false, "ListForAllNamespaces", "watchlist")})
		}
	}
	for _, sub := range p.r.Subresources {
		add(named+"/"+sub, namedParams, p.subresourceOps(sub))
	}
	return out
}

func (p *resourcePaths) collectionOps() []operation {
	var ops []operation
	if p.has("list") {
		ops = append(ops, p.listOp(p.r.Namespaced, ""))
	}
	if p.has("create") {
		ops = append(ops, p.createOp(p.objDef, p.r.GVK, ""))
	}
	if p.has("deletecollection") {
		ops = append(ops, operation{
			method: "delete", id: p.id("deletecollection", p.r.Namespaced, ""), action: "deletecollection",
			description: "delete collection of " + p.r.GVK.Kind, gvk: p.r.GVK,
			params: deleteCollectionParams, body: defDeleteOptions,
			responses: []response{{200, defStatus}},
		})
	}
	return ops
}

func (p *resourcePaths) listOp(namespaced bool, suffix string) operation {
	return operation{
		method: "get", id: p.id("list", namespaced, suffix), action: "list",
		description: "list or watch objects of kind " + p.r.GVK.Kind, gvk: p.r.GVK,
		params: listParams, responses: []response{{200, p.listDef}}, produces: watchContentTypes,
	}
}

func (p *resourcePaths) watchOp(namespaced bool, suffix, action string) operation {
	desc := "watch changes to an object of kind " + p.r.GVK.Kind
	if action == "watchlist" {
		desc = "watch individual changes to a list of " + p.r.GVK.Kind
	}
	return operation{
		method: "get", id: p.id("watch", namespaced, suffix), action: action,
		description: desc + ". deprecated: use the 'watch' parameter with a list operation instead.",
		gvk:         p.r.GVK, params: listParams,
		responses: []response{{200, defWatchEvent}}, produces: watchContentTypes,
	}
}

func (p *resourcePaths) createOp(def string, gvk schema.GroupVersionKind, suffix string) operation {
	return operation{
		method: "post", id: p.id("create", p.r.Namespaced, suffix), action: "post",
		description: "create " + gvk.Kind, gvk: gvk,
		params: writeParams, body: def, bodyRequired: true,
		responses: []response{{200, def}, {201, def}, {202, def}},
	}
}

func (p *resourcePaths) namedOps() []operation {
	var ops []operation
	if p.has("get") {
		ops = append(ops, p.readOp(p.objDef, p.r.GVK, ""))
	}
	if p.has("update") {
		ops = append(ops, p.replaceOp(p.objDef, p.r.GVK, ""))
	}
	if p.has("delete") {
		ops = append(ops, operation{
			method: "delete", id: p.id("delete", p.r.Namespaced, ""), action: "delete",
			description: "delete " + p.r.GVK.Kind, gvk: p.r.GVK,
			params: deleteParams, body: defDeleteOptions,
			responses: []response{{200, defStatus}, {202, defStatus}},
		})
	}
	if p.has("patch") {
		ops = append(ops, p.patchOp(p.objDef, p.r.GVK, ""))
	}
	return ops
}

func (p *resourcePaths) readOp(def string, gvk schema.GroupVersionKind, suffix string) operation {
	return operation{
		method: "get", id: p.id("read", p.r.Namespaced, suffix), action: "get",
		description: "read the specified " + gvk.Kind + subDescription(suffix), gvk: gvk,
		responses: []response{{200, def}},
	}
}

func (p *resourcePaths) replaceOp(def string, gvk schema.GroupVersionKind, suffix string) operation {
	return operation{
		method: "put", id: p.id("replace", p.r.Namespaced, suffix), action: "put",
		description: "replace the specified " + gvk.Kind + subDescription(suffix), gvk: gvk,
		params: writeParams, body: def, bodyRequired: true,
		responses: []response{{200, def}, {201, def}},
	}
}

func (p *resourcePaths) patchOp(def string, gvk schema.GroupVersionKind, suffix string) operation {
	return operation{
		method: "patch", id: p.id("patch", p.r.Namespaced, suffix), action: "patch",
		description: "partially update the specified " + gvk.Kind + subDescription(suffix), gvk: gvk,
		params: patchParams, body: defPatch, bodyRequired: true, patch: true,
		responses: []response{{200, def}, {201, def}},
	}
}

func subDescription(suffix string) string {
	if suffix == "" {
		return ""
	}
	return " (" + strings.ToLower(suffix) + " subresource)"
}
