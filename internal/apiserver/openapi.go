package apiserver

import (
	"net/http"

	"github.com/klite/klite/internal/apiserver/openapi"
)

// openAPIHandler serves the OpenAPI v2 and v3 documents of the served resources.
func (s *Server) openAPIHandler() (http.Handler, error) {
	var rs []openapi.Resource
	for _, res := range s.resources {
		r := openapi.Resource{
			GVK: res.gvk, Resource: res.plural, Namespaced: res.namespaced, Verbs: verbsAll,
			Object: s.codec.new(res.gvk), List: s.codec.new(res.gvk.GroupVersion().WithKind(res.listKind())),
		}
		for _, sub := range []struct {
			on   bool
			name string
		}{{res.status, "status"}, {res.scale, "scale"}, {res.binding, "binding"}, {res.eviction, "eviction"}, {res.finalize, "finalize"},
			{res.connect, "attach"}, {res.connect, "exec"}, {res.connect, "log"}, {res.connect, "portforward"}, {res.proxy, "proxy"}} {
			if sub.on {
				r.Subresources = append(r.Subresources, sub.name)
			}
		}
		rs = append(rs, r)
	}
	spec, err := openapi.Build(rs)
	if err != nil {
		return nil, err
	}
	return spec.Handler(), nil
}
