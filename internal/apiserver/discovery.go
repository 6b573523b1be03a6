package apiserver

import (
	"net/http"
	"runtime"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
)

// Version is what /version reports: the Kubernetes API level klite implements.
var Version = version.Info{
	Major: "1", Minor: "33", GitVersion: "v1.33.0-klite", GitCommit: "", GitTreeState: "clean",
	BuildDate: "", GoVersion: runtime.Version(), Compiler: runtime.Compiler, Platform: runtime.GOOS + "/" + runtime.GOARCH,
}

func (s *Server) version(w http.ResponseWriter, r *http.Request) {
	writeObject(w, http.StatusOK, Version, output{})
}

func (s *Server) apiVersions(w http.ResponseWriter, r *http.Request) {
	if wantsAggregated(r) {
		s.aggregatedDiscovery(w, true)
		return
	}
	writeObject(w, http.StatusOK, &metav1.APIVersions{
		TypeMeta:                   metav1.TypeMeta{Kind: "APIVersions"},
		Versions:                   []string{"v1"},
		ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host}},
	}, output{})
}

func (s *Server) groupOf(name string) (metav1.APIGroup, bool) {
	g := metav1.APIGroup{TypeMeta: metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}, Name: name}
	for _, gv := range s.groups {
		if gv.Group == name {
			v := metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: gv.Version}
			g.Versions = append(g.Versions, v)
		}
	}
	if len(g.Versions) == 0 {
		return g, false
	}
	g.PreferredVersion = g.Versions[0]
	return g, true
}

func (s *Server) apiGroups(w http.ResponseWriter, r *http.Request) {
	if wantsAggregated(r) {
		s.aggregatedDiscovery(w, false)
		return
	}
	list := metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}, Groups: []metav1.APIGroup{}}
	seen := map[string]bool{}
	for _, gv := range s.groups {
		if gv.Group == "" || seen[gv.Group] {
			continue
		}
		seen[gv.Group] = true
		g, _ := s.groupOf(gv.Group)
		g.TypeMeta = metav1.TypeMeta{}
		list.Groups = append(list.Groups, g)
	}
	writeObject(w, http.StatusOK, list, output{})
}

func (s *Server) apiGroup(w http.ResponseWriter, r *http.Request, name string) {
	g, ok := s.groupOf(name)
	if !ok {
		writeError(w, apierrors.NewNotFound(schema.GroupResource{}, ""))
		return
	}
	writeObject(w, http.StatusOK, g, output{})
}

var (
	verbsAll     = metav1.Verbs{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	verbsGetPut  = metav1.Verbs{"get", "patch", "update"}
	verbsCreate  = metav1.Verbs{"create"}
	verbsFinaliz = metav1.Verbs{"update"}
	verbsConnect = metav1.Verbs{"create", "get"}
)

func (s *Server) resourceList(w http.ResponseWriter, r *http.Request, gv schema.GroupVersion) {
	list := metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv.String(), APIResources: []metav1.APIResource{}}
	for _, res := range s.resources {
		if res.gvk.GroupVersion() != gv {
			continue
		}
		list.APIResources = append(list.APIResources, apiResources(res)...)
	}
	if len(list.APIResources) == 0 {
		writeError(w, apierrors.NewNotFound(schema.GroupResource{}, ""))
		return
	}
	sort.SliceStable(list.APIResources, func(i, j int) bool { return list.APIResources[i].Name < list.APIResources[j].Name })
	writeObject(w, http.StatusOK, list, output{})
}

// apiResources is a resource's discovery entries: itself and its subresources.
func apiResources(res *resource) []metav1.APIResource {
	singular := res.singular
	if singular == "" {
		singular = lower(res.gvk.Kind)
	}
	main := metav1.APIResource{
		Name: res.plural, SingularName: singular, Namespaced: res.namespaced, Kind: res.gvk.Kind,
		Verbs: verbsAll, ShortNames: res.shortNames, Categories: res.categories,
	}
	out := []metav1.APIResource{main}
	sub := func(name, kind, group, version string, verbs metav1.Verbs) {
		out = append(out, metav1.APIResource{Name: res.plural + "/" + name, Namespaced: res.namespaced, Kind: kind, Group: group, Version: version, Verbs: verbs})
	}
	if res.status {
		sub("status", res.gvk.Kind, "", "", verbsGetPut)
	}
	if res.scale {
		sub("scale", "Scale", "autoscaling", "v1", verbsGetPut)
	}
	if res.binding {
		sub("binding", "Binding", "", "", verbsCreate)
	}
	if res.eviction {
		sub("eviction", "Eviction", "policy", "v1", verbsCreate)
	}
	if res.token {
		sub("token", "TokenRequest", "authentication.k8s.io", "v1", verbsCreate)
	}
	if res.finalize {
		sub("finalize", res.gvk.Kind, "", "", verbsFinaliz)
	}
	if res.connect {
		sub("attach", "PodAttachOptions", "", "", verbsConnect)
		sub("exec", "PodExecOptions", "", "", verbsConnect)
		sub("log", "Pod", "", "", metav1.Verbs{"get"})
		sub("portforward", "PodPortForwardOptions", "", "", verbsConnect)
	}
	if res.proxy {
		sub("proxy", "NodeProxyOptions", "", "", metav1.Verbs{"create", "delete", "get", "patch", "update"})
	}
	return out
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
