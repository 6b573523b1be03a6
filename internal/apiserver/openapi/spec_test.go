package openapi

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// builtSpec builds the fixture spec once for the package's tests.
var builtSpec = sync.OnceValues(func() (*Spec, error) { return Build(testResources()) })

func testSpec(t *testing.T) *Spec {
	t.Helper()
	s, err := builtSpec()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return s
}

// decoded renders a document and decodes it into generic JSON.
func decoded(t *testing.T, d *lazyDoc) map[string]any {
	t.Helper()
	raw, _, err := d.get()
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return out
}

// at follows a path of object keys (or array indexes written as #N).
func at(doc any, path ...string) any {
	cur := doc
	for _, p := range path {
		switch v := cur.(type) {
		case map[string]any:
			cur = v[p]
		case []any:
			i := 0
			for _, c := range strings.TrimPrefix(p, "#") {
				i = i*10 + int(c-'0')
			}
			if i >= len(v) {
				return nil
			}
			cur = v[i]
		default:
			return nil
		}
	}
	return cur
}

func gvkList(group, version, kind string) []any {
	return []any{map[string]any{"group": group, "version": version, "kind": kind}}
}

func TestV2Definitions(t *testing.T) {
	t.Parallel()
	defs := decoded(t, &testSpec(t).v2)["definitions"]
	tests := []struct {
		name string
		path []string
		want any
	}{
		{"pod spec refers to PodSpec", []string{"io.k8s.api.core.v1.Pod", "properties", "spec", "$ref"}, "#/definitions/io.k8s.api.core.v1.PodSpec"},
		{"pod metadata refers to ObjectMeta", []string{"io.k8s.api.core.v1.Pod", "properties", "metadata", "$ref"}, "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
		{"pod has its GVK", []string{"io.k8s.api.core.v1.Pod", "x-kubernetes-group-version-kind"}, gvkList("", "v1", "Pod")},
		{"deployment has its GVK", []string{"io.k8s.api.apps.v1.Deployment", "x-kubernetes-group-version-kind"}, gvkList("apps", "v1", "Deployment")},
		{"list kind has its GVK", []string{"io.k8s.api.apps.v1.DeploymentList", "x-kubernetes-group-version-kind"}, gvkList("apps", "v1", "DeploymentList")},
		{"scale subresource kind has its GVK", []string{"io.k8s.api.autoscaling.v1.Scale", "x-kubernetes-group-version-kind"}, gvkList("autoscaling", "v1", "Scale")},
		{"description from SwaggerDoc", []string{"io.k8s.api.core.v1.Pod", "description"}, "Pod is a collection of containers that can run on a host. This resource is created by clients and scheduled onto hosts."},
		{"inlined TypeMeta field", []string{"io.k8s.api.core.v1.Pod", "properties", "kind", "type"}, "string"},
		{"containers is an array of Container", []string{"io.k8s.api.core.v1.PodSpec", "properties", "containers", "items", "$ref"}, "#/definitions/io.k8s.api.core.v1.Container"},
		{"containers merge key", []string{"io.k8s.api.core.v1.PodSpec", "properties", "containers", "x-kubernetes-patch-merge-key"}, "name"},
		{"containers patch strategy", []string{"io.k8s.api.core.v1.PodSpec", "properties", "containers", "x-kubernetes-patch-strategy"}, "merge"},
		{"volumes patch strategy", []string{"io.k8s.api.core.v1.PodSpec", "properties", "volumes", "x-kubernetes-patch-strategy"}, "merge,retainKeys"},
		{"containers list type", []string{"io.k8s.api.core.v1.PodSpec", "properties", "containers", "x-kubernetes-list-type"}, "map"},
		{"finalizers list type", []string{"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "properties", "finalizers", "x-kubernetes-list-type"}, "set"},
		{"container name is required", []string{"io.k8s.api.core.v1.Container", "required"}, []any{"name"}},
		{"pod spec requires containers", []string{"io.k8s.api.core.v1.PodSpec", "required"}, []any{"containers"}},
		{"Quantity is a string", []string{"io.k8s.apimachinery.pkg.api.resource.Quantity", "type"}, "string"},
		{"resource limits map to Quantity", []string{"io.k8s.api.core.v1.ResourceRequirements", "properties", "limits", "additionalProperties", "$ref"}, "#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity"},
		{"IntOrString type", []string{"io.k8s.apimachinery.pkg.util.intstr.IntOrString", "type"}, "string"},
		{"IntOrString format", []string{"io.k8s.apimachinery.pkg.util.intstr.IntOrString", "format"}, "int-or-string"},
		{"Time is a date-time string", []string{"io.k8s.apimachinery.pkg.apis.meta.v1.Time", "format"}, "date-time"},
		{"RawExtension is an object", []string{"io.k8s.apimachinery.pkg.runtime.RawExtension", "type"}, "object"},
		{"RawExtension has no properties", []string{"io.k8s.apimachinery.pkg.runtime.RawExtension", "properties"}, nil},
		{"labels are a string map", []string{"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "properties", "labels", "additionalProperties", "type"}, "string"},
		{"secret data is base64", []string{"io.k8s.api.core.v1.Secret", "properties", "data", "additionalProperties", "format"}, "byte"},
		{"int32 format", []string{"io.k8s.api.apps.v1.DeploymentSpec", "properties", "replicas", "format"}, "int32"},
		{"pointer fields are optional", []string{"io.k8s.api.authentication.v1.TokenRequestSpec", "required"}, []any{"audiences"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := at(defs, tc.path...); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s = %#v, want %#v", strings.Join(tc.path, "."), got, tc.want)
			}
		})
	}
}

func TestV3Definitions(t *testing.T) {
	t.Parallel()
	doc := decoded(t, &testSpec(t).byKey["api/v1"].doc)
	defs := at(doc, "components", "schemas")
	tests := []struct {
		name string
		path []string
		want any
	}{
		{"struct fields are wrapped in allOf", []string{"io.k8s.api.core.v1.Pod", "properties", "spec", "allOf", "#0", "$ref"}, "#/components/schemas/io.k8s.api.core.v1.PodSpec"},
		{"by-value struct field defaults to {}", []string{"io.k8s.api.core.v1.Pod", "properties", "metadata", "default"}, map[string]any{}},
		{"items refer to components", []string{"io.k8s.api.core.v1.PodSpec", "properties", "containers", "items", "$ref"}, "#/components/schemas/io.k8s.api.core.v1.Container"},
		{"merge key kept", []string{"io.k8s.api.core.v1.PodSpec", "properties", "containers", "x-kubernetes-patch-merge-key"}, "name"},
		{"Quantity is string or number", []string{"io.k8s.apimachinery.pkg.api.resource.Quantity", "oneOf"}, []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}},
		{"IntOrString is integer or string", []string{"io.k8s.apimachinery.pkg.util.intstr.IntOrString", "oneOf"}, []any{map[string]any{"type": "integer"}, map[string]any{"type": "string"}}},
		{"pod GVK", []string{"io.k8s.api.core.v1.Pod", "x-kubernetes-group-version-kind"}, gvkList("", "v1", "Pod")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := at(defs, tc.path...); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s = %#v, want %#v", strings.Join(tc.path, "."), got, tc.want)
			}
		})
	}
}

// paramNames lists the names of an operation's parameters.
func paramNames(op any) []string {
	var names []string
	params, _ := at(op, "parameters").([]any)
	for _, p := range params {
		names = append(names, at(p, "name").(string))
	}
	return names
}

func TestV3Operations(t *testing.T) {
	t.Parallel()
	s := testSpec(t)
	apps := decoded(t, &s.byKey["apis/apps/v1"].doc)
	core := decoded(t, &s.byKey["api/v1"].doc)
	deployment := map[string]any{"group": "apps", "version": "v1", "kind": "Deployment"}
	tests := []struct {
		name       string
		doc        map[string]any
		path       string
		method     string
		action     string
		gvk        map[string]any
		wantParams []string
	}{
		{"create deployment", apps, "/apis/apps/v1/namespaces/{namespace}/deployments", "post", "post", deployment, []string{"dryRun", "fieldManager", "fieldValidation"}},
		{"patch deployment", apps, "/apis/apps/v1/namespaces/{namespace}/deployments/{name}", "patch", "patch", deployment, []string{"dryRun", "fieldManager", "fieldValidation", "force"}},
		{"update deployment", apps, "/apis/apps/v1/namespaces/{namespace}/deployments/{name}", "put", "put", deployment, []string{"dryRun", "fieldManager", "fieldValidation"}},
		{"patch deployment status", apps, "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status", "patch", "patch", deployment, []string{"dryRun", "fieldManager", "fieldValidation", "force"}},
		{"patch deployment scale", apps, "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale", "patch", "patch",
			map[string]any{"group": "autoscaling", "version": "v1", "kind": "Scale"}, []string{"dryRun", "fieldManager", "fieldValidation", "force"}},
		{"list deployments", apps, "/apis/apps/v1/namespaces/{namespace}/deployments", "get", "list", deployment, listParamNames()},
		{"list deployments in all namespaces", apps, "/apis/apps/v1/deployments", "get", "list", deployment, listParamNames()},
		{"watch a deployment", apps, "/apis/apps/v1/watch/namespaces/{namespace}/deployments/{name}", "get", "watch", deployment, listParamNames()},
		{"delete deployment", apps, "/apis/apps/v1/namespaces/{namespace}/deployments/{name}", "delete", "delete", deployment,
			[]string{"dryRun", "gracePeriodSeconds", "ignoreStoreReadErrorWithClusterBreakingPotential", "orphanDependents", "propagationPolicy"}},
		{"create cluster-scoped node", core, "/api/v1/nodes", "post", "post", map[string]any{"group": "", "version": "v1", "kind": "Node"}, []string{"dryRun", "fieldManager", "fieldValidation"}},
		{"bind pod", core, "/api/v1/namespaces/{namespace}/pods/{name}/binding", "post", "post", map[string]any{"group": "", "version": "v1", "kind": "Binding"}, []string{"dryRun", "fieldManager", "fieldValidation"}},
		{"pod log", core, "/api/v1/namespaces/{namespace}/pods/{name}/log", "get", "get", map[string]any{"group": "", "version": "v1", "kind": "Pod"},
			[]string{"container", "follow", "limitBytes", "previous", "sinceSeconds", "tailLines", "timestamps"}},
		{"pod exec", core, "/api/v1/namespaces/{namespace}/pods/{name}/exec", "post", "connect", map[string]any{"group": "", "version": "v1", "kind": "PodExecOptions"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			op := at(tc.doc, "paths", tc.path, tc.method)
			if op == nil {
				t.Fatalf("no %s %s", tc.method, tc.path)
			}
			if got := at(op, "x-kubernetes-action"); got != tc.action {
				t.Errorf("x-kubernetes-action = %v, want %v", got, tc.action)
			}
			if got := at(op, "x-kubernetes-group-version-kind"); !reflect.DeepEqual(got, tc.gvk) {
				t.Errorf("x-kubernetes-group-version-kind = %v, want %v", got, tc.gvk)
			}
			if got := paramNames(op); !slices.Equal(got, tc.wantParams) {
				t.Errorf("parameters = %v, want %v", got, tc.wantParams)
			}
		})
	}
}

func listParamNames() []string {
	var names []string
	for _, p := range listParams {
		names = append(names, p.name)
	}
	return names
}

func TestV3PatchBodyDeclaresStrategicMerge(t *testing.T) {
	t.Parallel()
	apps := decoded(t, &testSpec(t).byKey["apis/apps/v1"].doc)
	content := at(apps, "paths", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}", "patch", "requestBody", "content")
	for _, ct := range patchContentTypes {
		if at(content, ct, "schema", "$ref") != "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch" {
			t.Errorf("patch request body lacks %s", ct)
		}
	}
}

func TestV3DocumentHoldsOnlyReachableDefinitions(t *testing.T) {
	t.Parallel()
	s := testSpec(t)
	tests := []struct {
		key     string
		want    []string
		notWant []string
	}{
		{"apis/apps/v1",
			[]string{"io.k8s.api.apps.v1.Deployment", "io.k8s.api.core.v1.PodSpec", "io.k8s.api.autoscaling.v1.Scale", "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"},
			[]string{"io.k8s.api.core.v1.Node", "io.k8s.api.batch.v1.Job"}},
		{"apis/rbac.authorization.k8s.io/v1",
			[]string{"io.k8s.api.rbac.v1.ClusterRole", "io.k8s.apimachinery.pkg.apis.meta.v1.Status"},
			[]string{"io.k8s.api.core.v1.PodSpec"}},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			schemas := at(decoded(t, &s.byKey[tc.key].doc), "components", "schemas").(map[string]any)
			for _, name := range tc.want {
				if schemas[name] == nil {
					t.Errorf("missing %s", name)
				}
			}
			for _, name := range tc.notWant {
				if schemas[name] != nil {
					t.Errorf("unexpected %s", name)
				}
			}
			// Every reference resolves inside the document.
			raw, _, _ := s.byKey[tc.key].doc.get()
			for _, ref := range strings.Split(string(raw), `"$ref":"#/components/schemas/`)[1:] {
				name, _, _ := strings.Cut(ref, `"`)
				if schemas[name] == nil {
					t.Errorf("dangling reference to %s", name)
				}
			}
		})
	}
}

func TestBuildRejectsIncompleteResources(t *testing.T) {
	t.Parallel()
	r := testResources()[0]
	r.List = nil
	if _, err := Build([]Resource{r}); err == nil {
		t.Fatal("Build accepted a resource without a List type")
	}
}

func TestBuildIsFast(t *testing.T) {
	t.Parallel()
	start := time.Now()
	if _, err := Build(testResources()); err != nil {
		t.Fatal(err)
	}
	// Generous bound for a loaded CI machine; typically ~10 ms.
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Build took %v", d)
	}
}

// TestDocumentsAreDeterministic checks two API servers serving the same
// resources, listed in any order, publish identical documents (and hashes).
func TestDocumentsAreDeterministic(t *testing.T) {
	t.Parallel()
	a, err := Build(testResources())
	if err != nil {
		t.Fatal(err)
	}
	reversed := testResources()
	slices.Reverse(reversed)
	b, err := Build(reversed)
	if err != nil {
		t.Fatal(err)
	}
	docs := func(s *Spec) []*lazyDoc {
		return []*lazyDoc{&s.v2, &s.index, &s.byKey["api/v1"].doc, &s.byKey["apis/apps/v1"].doc}
	}
	for i, da := range docs(a) {
		_, etagA, errA := da.get()
		_, etagB, errB := docs(b)[i].get()
		if errA != nil || errB != nil || etagA != etagB {
			t.Errorf("document %d differs between builds: %s (%v) vs %s (%v)", i, etagA, errA, etagB, errB)
		}
	}
}

// BenchmarkRenderAll measures the first-request cost of every document.
func BenchmarkRenderAll(b *testing.B) {
	resources := testResources()
	for b.Loop() {
		s, err := Build(resources)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.v2.getProto(); err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.index.get(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuild(b *testing.B) {
	resources := testResources()
	for b.Loop() {
		if _, err := Build(resources); err != nil {
			b.Fatal(err)
		}
	}
}
