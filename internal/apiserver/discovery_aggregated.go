package apiserver

import (
	"encoding/json"
	"mime"
	"net/http"
	"strings"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const aggregatedContentType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

// wantsAggregated reports whether the client asked for aggregated discovery (apidiscovery.k8s.io
// v2), which fills kubectl's discovery cache in one round trip per root.
func wantsAggregated(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if mt == "application/json" && params["g"] == "apidiscovery.k8s.io" && params["v"] == "v2" && params["as"] == "APIGroupDiscoveryList" {
			return true
		}
		if mt == "application/json" && params["as"] == "" {
			return false // plain JSON preferred
		}
	}
	return false
}

// aggregatedDiscovery serves /api (legacy) or /apis (groups) as one APIGroupDiscoveryList.
func (s *Server) aggregatedDiscovery(w http.ResponseWriter, legacy bool) {
	list := apidiscoveryv2.APIGroupDiscoveryList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupDiscoveryList", APIVersion: "apidiscovery.k8s.io/v2"}}
	index := map[string]int{}
	for _, gv := range s.groups {
		if (gv.Group == "") != legacy {
			continue
		}
		i, ok := index[gv.Group]
		if !ok {
			i = len(list.Items)
			index[gv.Group] = i
			list.Items = append(list.Items, apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: gv.Group}})
		}
		v := apidiscoveryv2.APIVersionDiscovery{Version: gv.Version, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
		for _, res := range s.resources {
			if res.gvk.GroupVersion() == gv {
				v.Resources = append(v.Resources, resourceDiscovery(res))
			}
		}
		list.Items[i].Versions = append(list.Items[i].Versions, v)
	}
	body, err := json.Marshal(list)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", aggregatedContentType)
	w.Header().Set("Vary", "Accept")
	_, _ = w.Write(body)
}

func resourceDiscovery(res *resource) apidiscoveryv2.APIResourceDiscovery {
	entries := apiResources(res)
	main := entries[0]
	scope := apidiscoveryv2.ScopeCluster
	if res.namespaced {
		scope = apidiscoveryv2.ScopeNamespace
	}
	d := apidiscoveryv2.APIResourceDiscovery{
		Resource:         main.Name,
		ResponseKind:     &metav1.GroupVersionKind{Group: res.gvk.Group, Version: res.gvk.Version, Kind: res.gvk.Kind},
		Scope:            scope,
		SingularResource: main.SingularName,
		Verbs:            main.Verbs,
		ShortNames:       main.ShortNames,
		Categories:       main.Categories,
	}
	for _, sub := range entries[1:] {
		group, version := sub.Group, sub.Version
		if group == "" && version == "" {
			group, version = res.gvk.Group, res.gvk.Version
		}
		d.Subresources = append(d.Subresources, apidiscoveryv2.APISubresourceDiscovery{
			Subresource:  strings.TrimPrefix(sub.Name, res.plural+"/"),
			ResponseKind: &metav1.GroupVersionKind{Group: group, Version: version, Kind: sub.Kind},
			Verbs:        sub.Verbs,
		})
	}
	return d
}
