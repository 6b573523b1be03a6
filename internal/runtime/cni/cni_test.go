package cni

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/klite/klite/internal/runtime/network"
	"github.com/klite/klite/internal/runtime/pause"
	"github.com/klite/klite/internal/runtime/testnetns"
)

// pluginDir finds Debian's containernetworking-plugins.
func pluginDir(t *testing.T) string {
	for _, d := range DefaultBinDirs {
		if _, err := os.Stat(filepath.Join(d, "bridge")); err == nil {
			return d
		}
	}
	t.Skip("skipping: CNI plugins missing (run internal/runtime/install-test-deps.sh: apt-get install -y containernetworking-plugins)")
	return ""
}

func writeConf(t *testing.T, ipamDir string, extra ...string) string {
	t.Helper()
	dir := t.TempDir()
	plugins := append([]string{fmt.Sprintf(`{"type": "bridge", "bridge": "kcni0", "isGateway": true, "hairpinMode": true,
	   "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": "10.81.0.0/24"}]],
	            "routes": [{"dst": "0.0.0.0/0"}]}}`, ipamDir), `{"type": "loopback"}`}, extra...)
	conf := `{"cniVersion": "1.0.0", "name": "klite-test", "plugins": [` + strings.Join(plugins, ",") + `]}`
	if err := os.WriteFile(filepath.Join(dir, "10-test.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// A later file in name order is ignored.
	if err := os.WriteFile(filepath.Join(dir, "20-other.conflist"), []byte(`{"cniVersion":"1.0.0","name":"other","plugins":[{"type":"nope"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestSetupTeardownWithPlugins(t *testing.T) {
	bin := pluginDir(t)
	ipamDir := t.TempDir()
	confDir := writeConf(t, ipamDir)
	if !HasConfig(confDir) || HasConfig(t.TempDir()) {
		t.Fatal("HasConfig wrong")
	}
	hostNS := testnetns.New(t)
	m, err := New(Config{ConfDir: confDir, BinDirs: []string{bin}, StateDir: t.TempDir(), HostNetNS: hostNS})
	if err != nil {
		t.Fatal(err)
	}
	if m.Name() != "klite-test" {
		t.Errorf("network %q, want the first file's", m.Name())
	}
	p, err := pause.Start(pause.Config{Hostname: "cni"})
	if err != nil {
		t.Fatal(err)
	}
	defer pause.Kill(p.Pid, 5*time.Second)
	podNS := fmt.Sprintf("/proc/%d/ns/net", p.Pid)

	ip, err := m.Setup("sandbox-1", podNS, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, subnet, _ := net.ParseCIDR("10.81.0.0/24")
	if !subnet.Contains(ip) {
		t.Fatalf("address %s outside the configured range", ip)
	}
	if addrs := podAddrs(t, podNS); len(addrs) != 1 || !addrs[0].IP.Equal(ip) {
		t.Errorf("eth0 addresses %v, want %s", addrs, ip)
	}
	if _, err := os.Stat(filepath.Join(ipamDir, "klite-test", ip.String())); err != nil {
		t.Errorf("host-local holds no reservation: %v", err)
	}

	if err := m.Teardown("sandbox-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(ipamDir, "klite-test", ip.String())); !os.IsNotExist(err) {
		t.Errorf("address still reserved after Teardown: %v", err)
	}
	if addrs := podAddrs(t, podNS); len(addrs) != 0 {
		t.Errorf("pod still has eth0 addresses %v", addrs)
	}
	if err := m.Teardown("sandbox-1"); err != nil {
		t.Errorf("second Teardown: %v", err)
	}
}

func podAddrs(t *testing.T, podNS string) []netlink.Addr {
	t.Helper()
	ns, err := netns.GetFromPath(podNS)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	eth, err := h.LinkByName("eth0")
	if err != nil {
		return nil
	}
	addrs, _ := h.AddrList(eth, netlink.FAMILY_V4)
	return addrs
}

// TestHostPortsThroughPortmap hands a pod's host ports to the portmap
// plugin: the node's 127.0.0.1:<hostPort> reaches the pod, and no longer
// after Teardown.
func TestHostPortsThroughPortmap(t *testing.T) {
	bin := pluginDir(t)
	if _, err := os.Stat(filepath.Join(bin, "portmap")); err != nil {
		t.Skip("skipping: no portmap plugin in " + bin)
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("skipping: the portmap plugin needs iptables, not installed")
	}
	confDir := writeConf(t, t.TempDir(), `{"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}`)
	hostNS := testnetns.New(t)
	m, err := New(Config{ConfDir: confDir, BinDirs: []string{bin}, StateDir: t.TempDir(), HostNetNS: hostNS})
	if err != nil {
		t.Fatal(err)
	}
	p, err := pause.Start(pause.Config{Hostname: "cni"})
	if err != nil {
		t.Fatal(err)
	}
	defer pause.Kill(p.Pid, 5*time.Second)
	podNS := fmt.Sprintf("/proc/%d/ns/net", p.Pid)
	ip, err := m.Setup("sandbox-1", podNS, []network.PortMapping{{ContainerPort: 8080, HostPort: 18090}, {ContainerPort: 9090}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Teardown("sandbox-1")
	var ln net.Listener
	inNS(t, podNS, func() (err error) { ln, err = net.Listen("tcp", ip.String()+":8080"); return err })
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("hello"))
			c.Close()
		}
	}()
	inNS(t, hostNS, func() error { return expectHello(ip.String() + ":8080") })
	inNS(t, hostNS, func() error { return expectHello("127.0.0.1:18090") })
	if err := m.Teardown("sandbox-1"); err != nil {
		t.Fatal(err)
	}
	inNS(t, hostNS, func() error {
		if expectHello("127.0.0.1:18090") == nil {
			return errors.New("host port still published after Teardown")
		}
		return nil
	})
}

// inNS runs fn on a thread inside the network namespace at path.
func inNS(t *testing.T, path string, fn func() error) {
	t.Helper()
	if err := testnetns.Do(path, fn); err != nil {
		t.Fatal(err)
	}
}

func expectHello(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "hello" {
		return fmt.Errorf("read %q from %s: %v", b, addr, err)
	}
	return nil
}
