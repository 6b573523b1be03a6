package archtest

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

type pkg struct {
	ImportPath string
	Doc        string
	Name       string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "github.com/klite/klite/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkg
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

const mod = "github.com/klite/klite/"

// TestDependencyRules keeps the architecture's dependency direction: only storage/etcd talks to
// etcd, components reach cluster state only through client-go, only the wiring packages (cmd/,
// internal/app, and pkg/testcluster, which wires a whole cluster into a test) assemble
// components, and upstream's server code is never linked in.
func TestDependencyRules(t *testing.T) {
	components := []string{"internal/scheduler", "internal/controller", "internal/controllers", "internal/kubelet", "internal/proxy", "internal/sim", "internal/runtime"}
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(p.ImportPath, mod)
		if strings.HasSuffix(rel, "test") {
			continue // test-support packages start real servers for tests
		}
		for _, dep := range p.Deps {
			switch {
			case dep == "k8s.io/kubernetes" || strings.HasPrefix(dep, "k8s.io/kubernetes/") || strings.HasPrefix(dep, "k8s.io/apiserver/") || strings.HasPrefix(dep, "sigs.k8s.io/controller-runtime"):
				t.Errorf("%s links %s: klite implements the system itself", rel, dep)
			case strings.HasPrefix(dep, "go.etcd.io/etcd/client/v3") && !strings.HasPrefix(rel, "internal/storage/etcd") && !wiring(rel):
				t.Errorf("%s depends on the etcd client (%s); only internal/storage/etcd may", rel, dep)
			default:
				continue
			}
			break
		}
		for _, imp := range p.Imports {
			irel := strings.TrimPrefix(imp, mod)
			if strings.HasPrefix(irel, "internal/app") && !wiring(rel) {
				t.Errorf("%s imports %s; only the wiring packages import internal/app", rel, irel)
			}
			for _, c := range components {
				if strings.HasPrefix(rel, c) && (strings.HasPrefix(irel, "internal/apiserver") || strings.HasPrefix(irel, "internal/storage")) {
					t.Errorf("component %s imports %s; components use client-go only", rel, irel)
				}
			}
		}
	}
}

// wiring says whether the package at rel assembles components into programs.
func wiring(rel string) bool {
	return strings.HasPrefix(rel, "cmd/") || strings.HasPrefix(rel, "internal/app") || rel == "pkg/testcluster"
}

// TestEveryPackageHasDoc: every package starts with a doc comment.
func TestEveryPackageHasDoc(t *testing.T) {
	for _, p := range listPackages(t) {
		if p.Name != "main" && strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no doc comment", p.ImportPath)
		}
	}
}
