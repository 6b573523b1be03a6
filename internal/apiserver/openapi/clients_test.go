package openapi

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/openapi3"
	"k8s.io/client-go/rest"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/util/proto"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// discoveryClient is a client-go discovery client talking to the served
// documents over HTTP, as kubectl's is.
func discoveryClient(t *testing.T) *discovery.DiscoveryClient {
	t.Helper()
	srv := httptest.NewServer(testSpec(t).Handler())
	t.Cleanup(srv.Close)
	dc, err := discovery.NewDiscoveryClientForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return dc
}

// TestV2ParsesWithKubectlModels feeds /openapi/v2 (protobuf, as client-go
// requests it) into the model parser kubectl's validation and apply use.
func TestV2ParsesWithKubectlModels(t *testing.T) {
	t.Parallel()
	doc, err := discoveryClient(t).OpenAPISchema()
	if err != nil {
		t.Fatalf("OpenAPISchema: %v", err)
	}
	models, err := proto.NewOpenAPIData(doc)
	if err != nil {
		t.Fatalf("NewOpenAPIData: %v", err)
	}
	deployment := models.LookupModel("io.k8s.api.apps.v1.Deployment")
	if deployment == nil {
		t.Fatal("no io.k8s.api.apps.v1.Deployment model")
	}
	gvk := deployment.GetExtensions()["x-kubernetes-group-version-kind"]
	if !strings.Contains(fmt.Sprint(gvk), "kind:Deployment") {
		t.Errorf("Deployment GVK extension = %v", gvk)
	}

	containers := walkFields(t, deployment, "spec", "template", "spec", "containers")
	arr, ok := containers.(*proto.Array)
	if !ok {
		t.Fatalf("containers is %T, want *proto.Array", containers)
	}
	if got := arr.GetExtensions()["x-kubernetes-patch-merge-key"]; got != "name" {
		t.Errorf("containers merge key = %v", got)
	}
	name := walkFields(t, arr.SubType, "name")
	if p, ok := name.(*proto.Primitive); !ok || p.Type != "string" {
		t.Errorf("containers[].name is %#v, want a string primitive", name)
	}

	// Strategic merge patch metadata the v2 way, as kubectl apply falls back to.
	meta := strategicpatch.NewPatchMetaFromOpenAPI(deployment)
	assertMergeKey(t, meta, "name")
}

// walkFields walks properties through references.
func walkFields(t *testing.T, s proto.Schema, path ...string) proto.Schema {
	t.Helper()
	for _, p := range path {
		for {
			ref, ok := s.(proto.Reference)
			if !ok {
				break
			}
			s = ref.SubSchema()
		}
		kind, ok := s.(*proto.Kind)
		if !ok {
			t.Fatalf("at %q: %T is not a kind", p, s)
		}
		s = kind.Fields[p]
		if s == nil {
			t.Fatalf("no field %q in %s", p, kind.GetPath())
		}
	}
	for {
		ref, ok := s.(proto.Reference)
		if !ok {
			return s
		}
		s = ref.SubSchema()
	}
}

// assertMergeKey walks spec.template.spec.containers with the strategic
// merge patch lookups and checks the merge key.
func assertMergeKey(t *testing.T, meta strategicpatch.LookupPatchMeta, want string) {
	t.Helper()
	var err error
	for _, key := range []string{"spec", "template", "spec"} {
		meta, _, err = meta.LookupPatchMetadataForStruct(key)
		if err != nil {
			t.Fatalf("lookup %s: %v", key, err)
		}
	}
	_, pm, err := meta.LookupPatchMetadataForSlice("containers")
	if err != nil {
		t.Fatalf("lookup containers: %v", err)
	}
	if pm.GetPatchMergeKey() != want {
		t.Errorf("containers merge key = %q, want %q", pm.GetPatchMergeKey(), want)
	}
}

// v3Deployment fetches the apps/v1 document through client-go's openapi3
// root, as kubectl apply and the field-validation verifier do.
func v3Deployment(t *testing.T) (*spec3.OpenAPI, *spec.Schema) {
	t.Helper()
	root := openapi3.NewRoot(discoveryClient(t).OpenAPIV3())
	gvs, err := root.GroupVersions()
	if err != nil {
		t.Fatal(err)
	}
	if len(gvs) != len(testSpec(t).groupVersions) {
		t.Errorf("GroupVersions() = %v", gvs)
	}
	doc, err := root.GVSpec(schema.GroupVersion{Group: "apps", Version: "v1"})
	if err != nil {
		t.Fatalf("GVSpec: %v", err)
	}
	d := doc.Components.Schemas["io.k8s.api.apps.v1.Deployment"]
	if d == nil {
		t.Fatal("no io.k8s.api.apps.v1.Deployment schema")
	}
	return doc, d
}

func TestV3StrategicMergePatchWithKubectlLookup(t *testing.T) {
	t.Parallel()
	doc, deployment := v3Deployment(t)
	meta := strategicpatch.PatchMetaFromOpenAPIV3{Schema: deployment, SchemaList: doc.Components.Schemas}
	assertMergeKey(t, meta, "name")

	original := `{"apiVersion":"apps/v1","kind":"Deployment","spec":{"template":{"spec":{"containers":[{"name":"a","image":"x:1"}]}}}}`
	modified := `{"apiVersion":"apps/v1","kind":"Deployment","spec":{"template":{"spec":{"containers":[{"name":"a","image":"x:2"},{"name":"b","image":"y:1"}]}}}}`
	patch, err := strategicpatch.CreateThreeWayMergePatch([]byte(original), []byte(modified), []byte(original), meta, false)
	if err != nil {
		t.Fatalf("CreateThreeWayMergePatch: %v", err)
	}
	// Merging by name yields an element-order directive, not a list replacement.
	if !strings.Contains(string(patch), `"$setElementOrder/containers":[{"name":"a"},{"name":"b"}]`) {
		t.Errorf("patch = %s", patch)
	}
}

// TestV3DeclaresFieldValidation repeats the check kubectl's
// query-parameter verifier makes: the first patch operation carrying the
// kind's GVK must have a fieldValidation query parameter.
func TestV3DeclaresFieldValidation(t *testing.T) {
	t.Parallel()
	doc, _ := v3Deployment(t)
	for path, item := range doc.Paths.Paths {
		op := item.Patch
		if op == nil {
			continue
		}
		var gvk map[string]string
		if err := op.Extensions.GetObject("x-kubernetes-group-version-kind", &gvk); err != nil || gvk["kind"] != "Deployment" {
			continue
		}
		found := false
		for _, p := range op.Parameters {
			if p.Name == "fieldValidation" && p.In == "query" {
				found = true
			}
		}
		if !found {
			t.Errorf("PATCH %s has no fieldValidation query parameter", path)
		}
		if op.RequestBody == nil || op.RequestBody.Content["application/strategic-merge-patch+json"] == nil {
			t.Errorf("PATCH %s does not accept strategic merge patches", path)
		}
	}
}
