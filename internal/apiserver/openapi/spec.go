package openapi

import (
	"crypto/sha512"
	"fmt"
	"reflect"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Resource is one served resource (top-level; subresources listed by name).
type Resource struct {
	GVK          schema.GroupVersionKind // e.g. apps/v1 Deployment ("" group for core)
	Resource     string                  // plural, e.g. "deployments"
	Namespaced   bool
	Verbs        []string       // e.g. get list watch create update patch delete deletecollection
	Subresources []string       // e.g. "status", "scale", "binding", "eviction"
	Object       runtime.Object // zero value of the Go type, e.g. &appsv1.Deployment{}
	List         runtime.Object // e.g. &appsv1.DeploymentList{}
}

// Spec holds the rendered documents; it is immutable and safe for concurrent use.
type Spec struct {
	model         *model
	version       string
	groupVersions []*groupVersion // sorted by key
	byKey         map[string]*groupVersion
	built         time.Time

	v2    lazyDoc
	index lazyDoc
}

// groupVersion is one /openapi/v3 document.
type groupVersion struct {
	gv    schema.GroupVersion
	key   string // api/v1, apis/apps/v1
	tag   string
	items []pathItem
	roots []string // definitions referenced by the operations
	doc   lazyDoc
}

// lazyDoc is a document rendered on first use, with its protobuf form
// converted on first use too.
type lazyDoc struct {
	once   sync.Once
	render func() ([]byte, error)
	json   []byte
	etag   string
	err    error

	protoOnce sync.Once
	toProto   func([]byte) ([]byte, error)
	proto     []byte
	protoErr  error
}

func (d *lazyDoc) get() ([]byte, string, error) {
	d.once.Do(func() {
		d.json, d.err = d.render()
		if d.err == nil {
			d.etag = fmt.Sprintf("%X", sha512.Sum512(d.json))
		}
	})
	return d.json, d.etag, d.err
}

func (d *lazyDoc) getProto() ([]byte, string, error) {
	doc, etag, err := d.get()
	if err != nil {
		return nil, "", err
	}
	d.protoOnce.Do(func() { d.proto, d.protoErr = d.toProto(doc) })
	return d.proto, etag, d.protoErr
}

// Build walks the Go types of resources and prepares the documents; they
// are rendered lazily on first request.
func Build(resources []Resource) (*Spec, error) {
	s := &Spec{model: newModel(), version: apiVersion(), byKey: map[string]*groupVersion{}, built: time.Now()}
	for _, r := range resources {
		if err := s.addResource(r); err != nil {
			return nil, err
		}
	}
	sort.Slice(s.groupVersions, func(i, j int) bool { return s.groupVersions[i].key < s.groupVersions[j].key })
	if err := s.addCommonKinds(); err != nil {
		return nil, err
	}
	for _, gv := range s.groupVersions {
		gv.roots = operationRoots(gv.items)
		gv.doc.render = func() ([]byte, error) { return s.renderV3(gv) }
		gv.doc.toProto = v3Proto
	}
	s.v2.render = s.renderV2
	s.v2.toProto = v2Proto
	s.index.render = s.renderIndex
	return s, nil
}

func (s *Spec) addResource(r Resource) error {
	if r.Object == nil || r.List == nil || r.Resource == "" || r.GVK.Kind == "" || r.GVK.Version == "" {
		return fmt.Errorf("resource %q (%s): Object, List, Resource, Kind and Version are required", r.Resource, r.GVK)
	}
	objDef, err := s.model.addKind(r.Object, r.GVK)
	if err != nil {
		return err
	}
	listDef, err := s.model.addKind(r.List, r.GVK.GroupVersion().WithKind(r.GVK.Kind+"List"))
	if err != nil {
		return err
	}
	subs, err := resolveSubresources(s.model, r, objDef)
	if err != nil {
		return err
	}
	gv := s.groupVersion(r.GVK.GroupVersion())
	p := &resourcePaths{r: r, objDef: objDef, listDef: listDef, subs: subs}
	gv.items = append(gv.items, p.items()...)
	return nil
}

func (s *Spec) groupVersion(gv schema.GroupVersion) *groupVersion {
	key := gvKey(gv)
	if g, ok := s.byKey[key]; ok {
		return g
	}
	g := &groupVersion{gv: gv, key: key, tag: tagName(gv)}
	s.byKey[key] = g
	s.groupVersions = append(s.groupVersions, g)
	return g
}

// addCommonKinds registers the meta/v1 kinds every group-version's
// operations use, and each group-version's resource discovery path.
func (s *Spec) addCommonKinds() error {
	if _, err := s.model.addKind(&metav1.Status{}, schema.GroupVersionKind{Version: "v1", Kind: "Status"}); err != nil {
		return err
	}
	if _, err := s.model.addKind(&metav1.APIResourceList{}, schema.GroupVersionKind{Version: "v1", Kind: "APIResourceList"}); err != nil {
		return err
	}
	s.model.refFor(reflect.TypeFor[metav1.Patch]())
	for _, gv := range s.groupVersions {
		for _, k := range []struct {
			obj  runtime.Object
			kind string
		}{{&metav1.DeleteOptions{}, "DeleteOptions"}, {&metav1.WatchEvent{}, "WatchEvent"}} {
			if _, err := s.model.addKind(k.obj, gv.gv.WithKind(k.kind)); err != nil {
				return err
			}
		}
		gv.items = append(gv.items, discoveryItem(gv))
	}
	return nil
}

// discoveryItem is the group-version's resource list path, e.g. /apis/apps/v1/.
func discoveryItem(gv *groupVersion) pathItem {
	return pathItem{path: gvPrefix(gv.gv) + "/", ops: []operation{{
		method: "get", id: "get" + opName(gv.gv) + "APIResources",
		description: "get available resources", action: "get",
		gvk:       schema.GroupVersionKind{Version: "v1", Kind: "APIResourceList"},
		responses: []response{{200, defResourceList}},
	}}}
}

// operationRoots lists the definitions that operations refer to directly.
func operationRoots(items []pathItem) []string {
	var roots []string
	for _, item := range items {
		for _, op := range item.ops {
			if op.body != "" {
				roots = append(roots, op.body)
			}
			for _, r := range op.responses {
				if r.ref != "" {
					roots = append(roots, r.ref)
				}
			}
		}
	}
	return roots
}

// apiVersion reports the Kubernetes version matching the linked k8s.io/api
// module (v0.37.2 → v1.37.2).
func apiVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unversioned"
	}
	for _, dep := range info.Deps {
		if dep.Path == "k8s.io/api" && strings.HasPrefix(dep.Version, "v0.") {
			return "v1." + strings.TrimPrefix(dep.Version, "v0.")
		}
	}
	return "unversioned"
}
