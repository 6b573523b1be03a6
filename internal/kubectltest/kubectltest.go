// Package kubectltest finds the real kubectl for tests that drive it.
package kubectltest

import (
	"os"
	"os/exec"
	"testing"
)

// Path returns kubectl's path on PATH. Without one the test fails under CI (which installs it and
// must run every kubectl-driven test) and is skipped elsewhere, saying why.
func Path(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("kubectl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("kubectl is not on PATH; CI must run this test, which drives the real kubectl")
		}
		t.Skip("kubectl is not on PATH; this test drives the real kubectl (outside CI only)")
	}
	return path
}
