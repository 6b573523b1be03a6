package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klite/klite/internal/kubectltest"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// fakeAPIServer serves legacy discovery for the fixture resources, the
// OpenAPI documents under test, and a tiny in-memory object store, so the
// real kubectl can be pointed at it. Writes are recorded for assertions.
type fakeAPIServer struct {
	resources []Resource
	openapi   http.Handler

	mu      sync.Mutex
	objects map[string][]byte // by object URL path
	writes  []recordedWrite
}

type recordedWrite struct {
	method, path, contentType string
	query                     map[string][]string
	body                      string
}

func (f *fakeAPIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/openapi/"):
		f.openapi.ServeHTTP(w, r)
	case r.URL.Path == "/api":
		writeJSON(w, http.StatusOK, &metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"},
			ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host}}})
	case r.URL.Path == "/apis":
		writeJSON(w, http.StatusOK, f.groupList())
	case f.resourceList(r.URL.Path) != nil:
		writeJSON(w, http.StatusOK, f.resourceList(r.URL.Path))
	default:
		f.serveObject(w, r)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeAPIServer) groupList() *metav1.APIGroupList {
	list := &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}}
	seen := map[schema.GroupVersion]bool{}
	for _, r := range f.resources {
		gv := r.GVK.GroupVersion()
		if gv.Group == "" || seen[gv] {
			continue
		}
		seen[gv] = true
		v := metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: gv.Version}
		list.Groups = append(list.Groups, metav1.APIGroup{Name: gv.Group, Versions: []metav1.GroupVersionForDiscovery{v}, PreferredVersion: v})
	}
	return list
}

// resourceList answers /api/v1 and /apis/<g>/<v>; nil for other paths.
func (f *fakeAPIServer) resourceList(path string) *metav1.APIResourceList {
	var list *metav1.APIResourceList
	for _, r := range f.resources {
		if gvPrefix(r.GVK.GroupVersion()) != path {
			continue
		}
		if list == nil {
			list = &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: r.GVK.GroupVersion().String()}
		}
		list.APIResources = append(list.APIResources, metav1.APIResource{
			Name: r.Resource, Namespaced: r.Namespaced, Kind: r.GVK.Kind, Verbs: r.Verbs,
		})
		for _, sub := range r.Subresources {
			list.APIResources = append(list.APIResources, metav1.APIResource{
				Name: r.Resource + "/" + sub, Namespaced: r.Namespaced, Kind: r.GVK.Kind, Verbs: []string{"get", "update", "patch"},
			})
		}
	}
	return list
}

func (f *fakeAPIServer) serveObject(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method != http.MethodGet {
		f.writes = append(f.writes, recordedWrite{method: r.Method, path: r.URL.Path, contentType: r.Header.Get("Content-Type"), query: r.URL.Query(), body: string(body)})
	}
	switch r.Method {
	case http.MethodPost:
		var meta struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		if err := json.Unmarshal(body, &meta); err != nil {
			writeJSON(w, http.StatusBadRequest, &metav1.Status{Status: metav1.StatusFailure, Message: err.Error(), Code: 400})
			return
		}
		f.objects[r.URL.Path+"/"+meta.Metadata.Name] = body
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(body)
	case http.MethodGet, http.MethodPatch:
		obj, ok := f.objects[r.URL.Path]
		if !ok {
			writeJSON(w, http.StatusNotFound, &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
				Status: metav1.StatusFailure, Reason: metav1.StatusReasonNotFound, Message: "not found", Code: 404})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(obj)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func (f *fakeAPIServer) recorded() []recordedWrite {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.writes)
}

// kubectlBinaries returns kubectl on PATH and the versioned kubectl.1.NN
// binaries the machine image ships beside it.
func kubectlBinaries(t *testing.T) []string {
	t.Helper()
	path := kubectltest.Path(t)
	bins := []string{path}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		versioned, _ := filepath.Glob(filepath.Join(filepath.Dir(real), "kubectl.1.*"))
		bins = append(bins, versioned...)
	}
	return bins
}

// kubectlEnv is one kubectl binary pointed at a fresh fake API server.
type kubectlEnv struct {
	t      *testing.T
	bin    string
	dir    string
	server *fakeAPIServer
}

func newKubectlEnv(t *testing.T, bin string, spec *Spec) *kubectlEnv {
	fake := &fakeAPIServer{resources: testResources(), openapi: spec.Handler(), objects: map[string][]byte{}}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: klite, cluster: {server: %q}}]
users: [{name: admin, user: {}}]
contexts: [{name: klite, context: {cluster: klite, user: admin, namespace: default}}]
current-context: klite
`, srv.URL)
	if err := os.WriteFile(filepath.Join(dir, "kubeconfig"), []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return &kubectlEnv{t: t, bin: bin, dir: dir, server: fake}
}

// run runs kubectl with args and returns stdout and stderr; it fails the
// test when kubectl exits non-zero.
func (e *kubectlEnv) run(stdin string, args ...string) (string, string) {
	e.t.Helper()
	stdout, stderr, err := e.exec(stdin, args...)
	if err != nil {
		e.t.Fatal(err)
	}
	return stdout, stderr
}

// runErr runs kubectl expecting it may fail; the error carries stderr.
func (e *kubectlEnv) runErr(stdin string, args ...string) error {
	_, _, err := e.exec(stdin, args...)
	return err
}

func (e *kubectlEnv) exec(stdin string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args = append([]string{"--kubeconfig", filepath.Join(e.dir, "kubeconfig"), "--cache-dir", filepath.Join(e.dir, "cache")}, args...)
	cmd := exec.CommandContext(ctx, e.bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+e.dir, "KUBECONFIG=")
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), stderr.String(), fmt.Errorf("kubectl %s: %w\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), stderr.String(), nil
}

func TestRealKubectlExplain(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"deployments.spec.template.spec.containers"}, []string{"Deployment", "List of containers belonging to the pod", "image", "name"}},
		{[]string{"pods.spec.containers.resources.limits"}, []string{"Pod", "Limits describes the maximum amount of compute resources allowed"}},
		{[]string{"pods.spec.containers.livenessProbe.httpGet.port"}, []string{"Pod", "Name or number of the port"}},
		{[]string{"pods.metadata.creationTimestamp"}, []string{"Pod", "CreationTimestamp"}},
		{[]string{"clusterroles.rules"}, []string{"ClusterRole", "verbs"}},
		{[]string{"pods", "--recursive"}, []string{"terminationGracePeriodSeconds", "matchExpressions"}},
		// The v2 document, through kubectl's older explain.
		{[]string{"deployments.spec.template.spec.containers.ports", "--output=plaintext-openapiv2"}, []string{"RESOURCE: ports", "containerPort"}},
	}
	for _, bin := range kubectlBinaries(t) {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			t.Parallel()
			env := newKubectlEnv(t, bin, testSpec(t))
			for _, tc := range tests {
				out, _ := env.run("", append([]string{"explain"}, tc.args...)...)
				for _, want := range tc.want {
					if !strings.Contains(out, want) {
						t.Errorf("kubectl explain %v: output lacks %q:\n%s", tc.args, want, out)
					}
				}
			}
		})
	}
}

const deploymentYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:%s
`

// TestRealKubectlUsesServerSideValidation checks kubectl detects
// server-side field validation from the v3 documents: with --validate=strict
// it then leaves unknown fields to the server instead of rejecting them
// itself, so the object reaches the server with fieldValidation=Strict.
func TestRealKubectlUsesServerSideValidation(t *testing.T) {
	unknownField := strings.Replace(fmt.Sprintf(deploymentYAML, "1"), "spec:\n  selector", "spec:\n  bogusField: 1\n  selector", 1)
	for _, bin := range kubectlBinaries(t) {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			t.Parallel()
			env := newKubectlEnv(t, bin, testSpec(t))
			env.run(unknownField, "create", "--validate=strict", "-f", "-")
			writes := env.server.recorded()
			if len(writes) != 1 || writes[0].method != http.MethodPost {
				t.Fatalf("writes = %+v, want one POST", writes)
			}
			if got := writes[0].query["fieldValidation"]; !slices.Equal(got, []string{"Strict"}) {
				t.Errorf("fieldValidation = %v, want [Strict]", got)
			}
			if !strings.Contains(writes[0].body, "bogusField") {
				t.Errorf("the unknown field did not reach the server: %s", writes[0].body)
			}
		})
	}
}

// TestRealKubectlApplyPatchesByMergeKey checks kubectl apply computes its
// patch as a strategic merge patch from the v3 schema (containers merged by
// name) without falling back or warning.
func TestRealKubectlApplyPatchesByMergeKey(t *testing.T) {
	for _, bin := range kubectlBinaries(t) {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			t.Parallel()
			env := newKubectlEnv(t, bin, testSpec(t))
			env.run(fmt.Sprintf(deploymentYAML, "1"), "apply", "-f", "-")
			_, stderr := env.run(fmt.Sprintf(deploymentYAML, "2")+"      - {name: sidecar, image: busybox}\n", "apply", "-f", "-")
			if strings.Contains(stderr, "warning") {
				t.Errorf("kubectl apply warned: %s", stderr)
			}
			writes := env.server.recorded()
			if len(writes) != 2 || writes[0].method != http.MethodPost || writes[1].method != http.MethodPatch {
				t.Fatalf("writes = %+v, want a POST then a PATCH", writes)
			}
			patch := writes[1]
			if patch.contentType != "application/strategic-merge-patch+json" {
				t.Errorf("PATCH Content-Type = %q", patch.contentType)
			}
			if !strings.Contains(patch.body, `"$setElementOrder/containers":[{"name":"web"},{"name":"sidecar"}]`) {
				t.Errorf("PATCH body is not a strategic merge by container name: %s", patch.body)
			}
		})
	}
}

// withoutFieldValidation builds the fixture spec with the fieldValidation
// parameter left off every operation, as an API server without server-side
// field validation would publish it.
func withoutFieldValidation(t *testing.T) *Spec {
	t.Helper()
	s, err := Build(testResources())
	if err != nil {
		t.Fatal(err)
	}
	for _, gv := range s.groupVersions {
		for i := range gv.items {
			for j := range gv.items[i].ops {
				op := &gv.items[i].ops[j]
				op.params = slices.DeleteFunc(slices.Clone(op.params), func(p param) bool { return p.name == "fieldValidation" })
			}
		}
	}
	return s
}

// TestRealKubectlClientSideValidation checks kubectl's client-side schema
// validation, used when the server does not declare fieldValidation, works
// on the v2 document: a valid manifest passes, an unknown field is caught.
func TestRealKubectlClientSideValidation(t *testing.T) {
	spec := withoutFieldValidation(t)
	unknownField := strings.Replace(fmt.Sprintf(deploymentYAML, "1"), "spec:\n  selector", "spec:\n  bogusField: 1\n  selector", 1)
	for _, bin := range kubectlBinaries(t) {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			t.Parallel()
			env := newKubectlEnv(t, bin, spec)
			env.run(fmt.Sprintf(deploymentYAML, "1"), "create", "--validate=strict", "-f", "-")
			if n := len(env.server.recorded()); n != 1 {
				t.Fatalf("%d writes reached the server, want 1", n)
			}
			err := env.runErr(unknownField, "create", "--validate=strict", "-f", "-")
			if err == nil || !strings.Contains(err.Error(), `unknown field "bogusField" in io.k8s.api.apps.v1.DeploymentSpec`) {
				t.Errorf("kubectl create with an unknown field: err = %v", err)
			}
			if n := len(env.server.recorded()); n != 1 {
				t.Errorf("the invalid object reached the server")
			}
		})
	}
}
