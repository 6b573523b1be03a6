package validation

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klite/klite/internal/apiserver/defaults"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
)

// TestRealManifestsPass feeds everyday manifests (CoreDNS, a database
// StatefulSet, RBAC, quotas...) through the API server's create path
// (uid, defaults, validation) and expects no errors: validation must not
// refuse what a real cluster accepts.
func TestRealManifestsPass(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range strings.Split(string(data), "\n---\n") {
			obj, gvk, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
			if err != nil {
				t.Fatalf("%s document %d: %v", file, i, err)
			}
			m, _ := meta.Accessor(obj)
			m.SetUID(types.UID("uid-" + m.GetName()))
			if errs := ValidateCreate(defaulted(obj)); len(errs) > 0 {
				t.Errorf("%s: %s %s: %v", file, gvk.Kind, m.GetName(), errs.ToAggregate())
			}
			// Re-applying the same manifest is an update that changes nothing.
			m.SetResourceVersion("1")
			next := obj.DeepCopyObject()
			defaults.ApplyUpdate(next, obj)
			if errs := append(ValidateUpdate(next, obj), ValidateStatusUpdate(next, obj)...); len(errs) > 0 {
				t.Errorf("%s: update of %s %s: %v", file, gvk.Kind, m.GetName(), errs.ToAggregate())
			}
		}
	}
}
