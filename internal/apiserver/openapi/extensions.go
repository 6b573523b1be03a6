package openapi

import "reflect"

// listType records the x-kubernetes-list-* markers of a list field. Go
// struct tags do not carry them (upstream keeps them in comments), so the
// well-known ones are listed here by "<definition>.<json field>".
type listType struct {
	typ  string   // atomic, set or map
	keys []string // list-map keys, for typ map
}

var knownListTypes = map[string]listType{
	"io.k8s.api.core.v1.PodSpec.containers":                           {typ: "map", keys: []string{"name"}},
	"io.k8s.api.core.v1.PodSpec.initContainers":                       {typ: "map", keys: []string{"name"}},
	"io.k8s.api.core.v1.PodSpec.ephemeralContainers":                  {typ: "map", keys: []string{"name"}},
	"io.k8s.api.core.v1.PodSpec.topologySpreadConstraints":            {typ: "map", keys: []string{"topologyKey", "whenUnsatisfiable"}},
	"io.k8s.api.core.v1.Container.ports":                              {typ: "map", keys: []string{"containerPort", "protocol"}},
	"io.k8s.api.core.v1.ServiceSpec.ports":                            {typ: "map", keys: []string{"port", "protocol"}},
	"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta.finalizers":      {typ: "set"},
	"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta.ownerReferences": {typ: "map", keys: []string{"uid"}},
}

// fieldExtensions returns the vendor extensions of struct field sf (JSON
// name jsonName) of owner: the strategic-merge-patch markers from its tags
// and any known list type.
func fieldExtensions(owner reflect.Type, sf reflect.StructField, jsonName string) map[string]any {
	ext := map[string]any{}
	if v := sf.Tag.Get("patchStrategy"); v != "" {
		ext["x-kubernetes-patch-strategy"] = v
	}
	if v := sf.Tag.Get("patchMergeKey"); v != "" {
		ext["x-kubernetes-patch-merge-key"] = v
	}
	if lt, ok := knownListTypes[definitionName(owner)+"."+jsonName]; ok {
		ext["x-kubernetes-list-type"] = lt.typ
		if len(lt.keys) > 0 {
			keys := make([]any, len(lt.keys))
			for i, k := range lt.keys {
				keys[i] = k
			}
			ext["x-kubernetes-list-map-keys"] = keys
		}
	}
	if len(ext) == 0 {
		return nil
	}
	return ext
}
