// Package testnetns gives runtime tests private network namespaces that
// stand in for the node's, so tests never touch the machine's own bridge,
// addresses or firewall rules.
package testnetns

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/vishvananda/netns"
)

var counter atomic.Int32

// New creates a named network namespace, removed when the test ends, and
// returns its path. It skips the test when namespaces are unavailable.
func New(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("klite-test-%d-%d", os.Getpid(), counter.Add(1))
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends in the new netns
		h, err := netns.NewNamed(name)
		if err == nil {
			h.Close()
		}
		errc <- err
	}()
	if err := <-errc; err != nil {
		t.Skipf("skipping: cannot create network namespaces: %v", err)
	}
	t.Cleanup(func() {
		if err := netns.DeleteNamed(name); err != nil {
			t.Errorf("delete netns %s: %v", name, err)
		}
	})
	return filepath.Join("/var/run/netns", name)
}
