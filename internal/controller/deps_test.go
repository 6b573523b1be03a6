package controller

import (
	"os/exec"
	"strings"
	"testing"
)

// TestControllersDependencies keeps the layering: control loops never import each other, and
// no component package reaches the API server's or the storage's internals (only client-go).
func TestControllersDependencies(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go tool is not on PATH")
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`,
		"github.com/klite/klite/internal/controller", "github.com/klite/klite/internal/controllers/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const controllers = "github.com/klite/klite/internal/controllers/"
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, deps := fields[0], fields[1:]
		for _, d := range deps {
			switch {
			case strings.HasPrefix(d, controllers) && d != pkg:
				t.Errorf("%s imports another controller, %s", pkg, d)
			case strings.HasPrefix(d, "github.com/klite/klite/internal/apiserver"), strings.HasPrefix(d, "github.com/klite/klite/internal/storage"):
				t.Errorf("%s reaches %s; components talk to the cluster only through client-go", pkg, d)
			case strings.HasPrefix(d, "k8s.io/kubernetes"), strings.HasPrefix(d, "k8s.io/apiserver"):
				t.Errorf("%s imports %s", pkg, d)
			}
		}
	}
}
