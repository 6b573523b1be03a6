package openapi

import (
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// subresourceStyle says which operations a subresource has.
type subresourceStyle int

const (
	styleObject  subresourceStyle = iota // get, put, patch of a kind (status, scale)
	styleCreate                          // post of a kind (binding, eviction, token)
	styleLog                             // get returning text
	styleConnect                         // connect (exec, attach, portforward, proxy)
)

// subresourceType is how a named subresource is declared; obj nil means the
// parent resource's own kind.
type subresourceType struct {
	style subresourceStyle
	obj   any
	gvk   schema.GroupVersionKind
}

// subresourceInfo is a subresourceType resolved against a model.
type subresourceInfo struct {
	subresourceType
	def string
}

var knownSubresources = map[string]subresourceType{
	"scale":       {style: styleObject, obj: &autoscalingv1.Scale{}, gvk: schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}},
	"binding":     {style: styleCreate, obj: &corev1.Binding{}, gvk: schema.GroupVersionKind{Version: "v1", Kind: "Binding"}},
	"eviction":    {style: styleCreate, obj: &policyv1.Eviction{}, gvk: schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "Eviction"}},
	"token":       {style: styleCreate, obj: &authenticationv1.TokenRequest{}, gvk: schema.GroupVersionKind{Group: "authentication.k8s.io", Version: "v1", Kind: "TokenRequest"}},
	"log":         {style: styleLog},
	"exec":        {style: styleConnect},
	"attach":      {style: styleConnect},
	"portforward": {style: styleConnect},
	"proxy":       {style: styleConnect},
}

// connectOptionsKind names the options kind of a connect subresource, as
// upstream declares on those operations (PodExecOptions, NodeProxyOptions).
func connectOptionsKind(parentKind, sub string) string {
	names := map[string]string{"exec": "Exec", "attach": "Attach", "portforward": "PortForward", "proxy": "Proxy"}
	return parentKind + names[sub] + "Options"
}

// resolveSubresources registers the kinds of r's subresources in m.
func resolveSubresources(m *model, r Resource, objDef string) (map[string]subresourceInfo, error) {
	out := map[string]subresourceInfo{}
	for _, sub := range r.Subresources {
		st, ok := knownSubresources[sub]
		if !ok || (st.style == styleObject && st.obj == nil) {
			st = subresourceType{style: styleObject}
		}
		info := subresourceInfo{subresourceType: st, def: objDef}
		if st.obj == nil {
			info.gvk = r.GVK
		} else {
			def, err := m.addKind(st.obj, st.gvk)
			if err != nil {
				return nil, err
			}
			info.def = def
		}
		if st.style == styleConnect {
			info.gvk = schema.GroupVersionKind{Version: "v1", Kind: connectOptionsKind(r.GVK.Kind, sub)}
		}
		out[sub] = info
	}
	return out, nil
}

func (p *resourcePaths) subresourceOps(sub string) []operation {
	info := p.subs[sub]
	suffix := subSuffix(sub)
	switch info.style {
	case styleCreate:
		return []operation{p.createOp(info.def, info.gvk, suffix)}
	case styleLog:
		return []operation{{
			method: "get", id: p.id("read", p.r.Namespaced, suffix), action: "get",
			description: "read log of the specified " + p.r.GVK.Kind, gvk: p.r.GVK,
			params: logParams, responses: []response{{200, ""}}, produces: []string{"text/plain", "application/json", "application/yaml"},
		}}
	case styleConnect:
		return p.connectOps(info, suffix)
	}
	return []operation{
		p.readOp(info.def, info.gvk, suffix),
		p.replaceOp(info.def, info.gvk, suffix),
		p.patchOp(info.def, info.gvk, suffix),
	}
}

func (p *resourcePaths) connectOps(info subresourceInfo, suffix string) []operation {
	var ops []operation
	for _, method := range []string{"get", "post", "put", "delete"} {
		if method != "get" && method != "post" && suffix != "Proxy" {
			continue
		}
		ops = append(ops, operation{
			method:      method,
			id:          "connect" + upperFirst(method) + p.id("", p.r.Namespaced, suffix),
			action:      "connect",
			description: "connect " + strings.ToUpper(method) + " requests to " + strings.ToLower(suffix) + " of " + p.r.GVK.Kind,
			gvk:         info.gvk,
			responses:   []response{{200, ""}},
			produces:    []string{"*/*"},
		})
	}
	return ops
}

// subSuffix turns a subresource name into its operation-id suffix:
// status → Status, portforward → Portforward, ephemeralcontainers → Ephemeralcontainers.
func subSuffix(sub string) string {
	return upperFirst(sub)
}
