// Package testnetns gives runtime tests private network namespaces that
// stand in for the node's, so tests never touch the machine's own bridge,
// addresses or firewall rules.
package testnetns

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

var counter atomic.Int32

// New creates a named network namespace, its loopback up as a node's is,
// removed when the test ends, and returns its path. It skips the test
// when namespaces are unavailable.
func New(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("klite-test-%d-%d", os.Getpid(), counter.Add(1))
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends in the new netns
		h, err := netns.NewNamed(name)
		if err != nil {
			errc <- err
			return
		}
		h.Close()
		errc <- loopbackUp()
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

// loopbackUp sets lo up in this thread's network namespace.
func loopbackUp() error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return err
	}
	return netlink.LinkSetUp(lo)
}

// Start starts cmd inside the network namespace at path: it is forked
// from a thread switched into the namespace.
func Start(path string, cmd *exec.Cmd) error {
	return Do(path, cmd.Start)
}

// Listen opens a listener inside the network namespace at path; it stays
// there, whichever thread accepts on it.
func Listen(path, network, addr string) (ln net.Listener, err error) {
	err = Do(path, func() error {
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

// Do runs fn on a thread switched into the network namespace at path; the
// thread is thrown away afterwards, so no other code ever runs in it.
func Do(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies in the other namespace
		h, err := netns.GetFromPath(path)
		if err != nil {
			errc <- err
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			errc <- fmt.Errorf("enter netns %s: %w", path, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}
