package network

import (
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/klite/klite/internal/runtime/pause"
	"github.com/klite/klite/internal/runtime/testnetns"
)

func privateHostNS(t *testing.T) string { return testnetns.New(t) }

func startPod(t *testing.T) string {
	t.Helper()
	p, err := pause.Start(pause.Config{Hostname: "pod"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pause.Kill(p.Pid, 5*time.Second) })
	return fmt.Sprintf("/proc/%d/ns/net", p.Pid)
}

// inNS runs fn inside the network namespace at path.
func inNS(t *testing.T, path string, fn func() error) {
	t.Helper()
	h, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := inNetNS(h, fn); err != nil {
		t.Fatal(err)
	}
}

func TestPodNetworking(t *testing.T) {
	hostNS := privateHostNS(t)
	m, err := New(Config{Bridge: "ktest0", Subnet: "10.77.0.0/24", StateDir: t.TempDir(), HostNetNS: hostNS, Table: "klite_test"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	podA, podB := startPod(t), startPod(t)
	ipA, err := m.Setup("sandbox-a", podA, nil)
	if err != nil {
		t.Fatal(err)
	}
	ipB, err := m.Setup("sandbox-b", podB, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ipA.Equal(ipB) || !m.Subnet().Contains(ipA) || !m.Subnet().Contains(ipB) {
		t.Fatalf("addresses %s %s", ipA, ipB)
	}
	checkPodInterfaces(t, podA, ipA, m.Gateway())

	// pod A serves, pod B and the node (via the bridge) connect.
	var ln net.Listener
	inNS(t, podA, func() (err error) { ln, err = net.Listen("tcp", ipA.String()+":8080"); return err })
	defer ln.Close()
	go serveHello(ln)
	inNS(t, podB, func() error { return expectHello(ipA.String() + ":8080") })
	inNS(t, hostNS, func() error { return expectHello(ipA.String() + ":8080") })

	checkMasquerade(t, hostNS, "klite_test")
	checkMasqueradeWorks(t, hostNS, podB)

	if err := m.Teardown("sandbox-a"); err != nil {
		t.Fatal(err)
	}
	if err := m.Teardown("sandbox-a"); err != nil {
		t.Errorf("second Teardown: %v", err)
	}
	hostA, _ := vethNames("sandbox-a")
	if _, err := m.host.LinkByName(hostA); err == nil {
		t.Error("host veth left after Teardown")
	}
	if ip := m.ipam.find("sandbox-a"); ip != nil {
		t.Errorf("address %s still held after Teardown", ip)
	}
	if err := m.Teardown("sandbox-b"); err != nil {
		t.Fatal(err)
	}
	if err := m.RemoveNode(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.host.LinkByName("ktest0"); err == nil {
		t.Error("bridge left after RemoveNode")
	}
}

func checkPodInterfaces(t *testing.T, podNS string, ip, gw net.IP) {
	t.Helper()
	ns, _ := netns.GetFromPath(podNS)
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	eth, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatalf("no eth0 in pod: %v", err)
	}
	addrs, _ := h.AddrList(eth, netlink.FAMILY_V4)
	if len(addrs) != 1 || !addrs[0].IP.Equal(ip) {
		t.Errorf("eth0 addresses %v, want %s", addrs, ip)
	}
	if lo, _ := h.LinkByName("lo"); lo == nil || lo.Attrs().Flags&net.FlagUp == 0 {
		t.Error("lo is not up")
	}
	routes, _ := h.RouteList(nil, netlink.FAMILY_V4)
	var dflt bool
	for _, r := range routes {
		if r.Dst == nil || r.Dst.IP.IsUnspecified() {
			dflt = r.Gw.Equal(gw)
		}
	}
	if !dflt {
		t.Errorf("no default route via %s in %v", gw, routes)
	}
}

func serveHello(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_, _ = io.WriteString(c, "hello")
		c.Close()
	}
}

func expectHello(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "hello" {
		return fmt.Errorf("read %q, %v", b, err)
	}
	return nil
}

func checkMasquerade(t *testing.T, hostNS, table string) {
	t.Helper()
	ns, _ := netns.GetFromPath(hostNS)
	defer ns.Close()
	c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
	if err != nil {
		t.Fatal(err)
	}
	tbl := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: table}
	rules, err := c.GetRules(tbl, &nftables.Chain{Name: "postrouting", Table: tbl})
	// pods leaving the range; host port traffic from 127.0.0.1
	if err != nil || len(rules) != 2 {
		t.Fatalf("masquerade rules %v, %v", rules, err)
	}
	for _, r := range rules {
		if _, ok := r.Exprs[len(r.Exprs)-1].(*expr.Masq); !ok {
			t.Errorf("rule does not end in masquerade: %#v", r.Exprs)
		}
	}
}

// checkMasqueradeWorks connects the node to an "outside" namespace that has
// no route to the pod range: pod B reaches it only if the node masquerades.
func checkMasqueradeWorks(t *testing.T, hostNS, podNS string) {
	t.Helper()
	outside := privateHostNS(t)
	host, _ := netns.GetFromPath(hostNS)
	defer host.Close()
	out, _ := netns.GetFromPath(outside)
	defer out.Close()
	h, err := netlink.NewHandleAt(host)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "kout0"}, PeerName: "kout1"}
	if err := h.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	peer, _ := h.LinkByName("kout1")
	if err := h.LinkSetNsFd(peer, int(out)); err != nil {
		t.Fatal(err)
	}
	setAddrUp(t, h, "kout0", "198.51.100.1/24")
	ho, _ := netlink.NewHandleAt(out)
	defer ho.Close()
	setAddrUp(t, ho, "kout1", "198.51.100.2/24")

	var ln net.Listener
	inNS(t, outside, func() (err error) { ln, err = net.Listen("tcp", "198.51.100.2:9090"); return err })
	defer ln.Close()
	from := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			from <- err.Error()
			return
		}
		from <- c.RemoteAddr().(*net.TCPAddr).IP.String()
		c.Close()
	}()
	inNS(t, podNS, func() error {
		c, err := net.DialTimeout("tcp", "198.51.100.2:9090", 5*time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
	if got := <-from; got != "198.51.100.1" {
		t.Errorf("outside saw the pod as %s, want the node's 198.51.100.1 (masquerade)", got)
	}
}

func setAddrUp(t *testing.T, h *netlink.Handle, name, cidr string) {
	t.Helper()
	l, err := h.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := netlink.ParseAddr(cidr)
	if err := h.AddrAdd(l, a); err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(l); err != nil {
		t.Fatal(err)
	}
}
