// Package network gives pod sandboxes their network: a node bridge (klite0
// by default) holding the gateway address, one veth pair per pod with the
// pod end renamed eth0 inside the pod's network namespace, an address from
// the on-disk IPAM, a default route via the bridge, masquerade (nftables,
// or iptables where nftables is unavailable) for traffic leaving the pod range,
// and host ports (nftables DNAT from the node's addresses, 127.0.0.1
// included, to a pod's port; hostports.go).
//
//	host netns                          pod netns (the pause process's)
//	klite0 10.42.0.1/24 ── vk<hash> ═══ eth0 10.42.0.N/24, default via 10.42.0.1
package network

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Config configures a Manager.
type Config struct {
	// Bridge is the node bridge's name; default "klite0".
	Bridge string
	// Subnet is this node's pod range; default "10.42.0.0/24".
	Subnet string
	// StateDir holds the IPAM records.
	StateDir string
	// HostNetNS is the path of the network namespace the bridge lives in;
	// empty means the namespace klite runs in. Tests use a private one.
	HostNetNS string
	// Table is the nftables table holding klite's masquerade rule; default "klite".
	Table string
	// MTU of the bridge and veths; default 1500.
	MTU    int
	Logger *slog.Logger
}

// Manager sets up and tears down pod networks. It is safe for concurrent use.
type Manager struct {
	cfg    Config
	subnet *net.IPNet
	ipam   *IPAM
	hostNS netns.NsHandle
	host   *netlink.Handle

	mu       sync.Mutex // guards node-level setup
	nodeDone bool
}

// New validates cfg and returns a Manager; the bridge is created lazily.
func New(cfg Config) (*Manager, error) {
	if cfg.Bridge == "" {
		cfg.Bridge = "klite0"
	}
	if cfg.Subnet == "" {
		cfg.Subnet = "10.42.0.0/24"
	}
	if cfg.Table == "" {
		cfg.Table = "klite"
	}
	if cfg.MTU == 0 {
		cfg.MTU = 1500
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.StateDir == "" {
		return nil, errors.New("network: state dir is required")
	}
	_, subnet, err := net.ParseCIDR(cfg.Subnet)
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	ipam, err := NewIPAM(cfg.StateDir, subnet)
	if err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg, subnet: subnet, ipam: ipam}
	if m.hostNS, err = openNS(cfg.HostNetNS); err != nil {
		return nil, err
	}
	if m.host, err = netlink.NewHandleAt(m.hostNS); err != nil {
		m.hostNS.Close()
		return nil, fmt.Errorf("network: netlink: %w", err)
	}
	return m, nil
}

func openNS(path string) (netns.NsHandle, error) {
	if path == "" {
		// This thread's namespace: unlocked threads are all in klite's own.
		runtime.LockOSThread()
		h, err := netns.Get()
		runtime.UnlockOSThread()
		if err != nil {
			return netns.None(), fmt.Errorf("network: open own netns: %w", err)
		}
		return h, nil
	}
	h, err := netns.GetFromPath(path)
	if err != nil {
		return netns.None(), fmt.Errorf("network: open netns %s: %w", path, err)
	}
	return h, nil
}

// Close releases the Manager's handles; pod networks stay.
func (m *Manager) Close() {
	m.host.Close()
	m.hostNS.Close()
}

// Gateway returns the bridge's address, the pods' default gateway.
func (m *Manager) Gateway() net.IP { return m.ipam.Gateway() }

// Subnet returns the pod range.
func (m *Manager) Subnet() *net.IPNet { return m.subnet }

// Setup connects the network namespace at netnsPath to the bridge,
// publishes the host ports among ports and returns the address given to
// sandbox id.
func (m *Manager) Setup(id, netnsPath string, ports []PortMapping) (ip net.IP, err error) {
	hostPorts, err := published(ports)
	if err != nil {
		return nil, err
	}
	if err := m.ensureNode(); err != nil {
		return nil, err
	}
	ip, err = m.ipam.Allocate(id)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = m.Teardown(id)
		}
	}()
	pod, err := netns.GetFromPath(netnsPath)
	if err != nil {
		return nil, fmt.Errorf("network: open pod netns: %w", err)
	}
	defer pod.Close()
	if err := m.addVeth(id, pod); err != nil {
		return nil, err
	}
	if err := m.configurePod(id, pod, ip); err != nil {
		return nil, err
	}
	if err := m.publish(id, ip, hostPorts); err != nil {
		return nil, err
	}
	return ip, nil
}

// Teardown withdraws sandbox id's host ports, removes its veth and
// releases its address. It is idempotent.
func (m *Manager) Teardown(id string) error {
	if err := m.unpublish(id); err != nil {
		return err
	}
	host, _ := vethNames(id)
	if l, err := m.host.LinkByName(host); err == nil {
		if err := m.host.LinkDel(l); err != nil {
			return fmt.Errorf("network: delete %s: %w", host, err)
		}
	}
	return m.ipam.Release(id)
}

// vethNames derives the host end's name and the pod end's temporary name
// from the sandbox ID (interface names have at most 15 bytes).
func vethNames(id string) (host, peer string) {
	h := fmt.Sprintf("%x", sha256.Sum256([]byte(id)))[:11]
	return "vk" + h, "tk" + h
}

func (m *Manager) addVeth(id string, pod netns.NsHandle) error {
	br, err := m.host.LinkByName(m.cfg.Bridge)
	if err != nil {
		return fmt.Errorf("network: bridge: %w", err)
	}
	hostName, peerName := vethNames(id)
	veth := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{Name: hostName, MTU: m.cfg.MTU, MasterIndex: br.Attrs().Index},
		PeerName:  peerName,
	}
	if err := m.host.LinkAdd(veth); err != nil {
		return fmt.Errorf("network: add veth %s: %w", hostName, err)
	}
	peer, err := m.host.LinkByName(peerName)
	if err != nil {
		return fmt.Errorf("network: veth peer: %w", err)
	}
	if err := m.host.LinkSetNsFd(peer, int(pod)); err != nil {
		return fmt.Errorf("network: move veth into pod: %w", err)
	}
	// Hairpin: a pod reaching its own host port is bridged back out the
	// port it came in on.
	if err := m.host.LinkSetHairpin(veth, true); err != nil {
		return fmt.Errorf("network: veth hairpin: %w", err)
	}
	if err := m.host.LinkSetUp(veth); err != nil {
		return fmt.Errorf("network: veth up: %w", err)
	}
	return nil
}

func (m *Manager) configurePod(id string, pod netns.NsHandle, ip net.IP) error {
	h, err := netlink.NewHandleAt(pod)
	if err != nil {
		return fmt.Errorf("network: pod netlink: %w", err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("network: pod lo: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("network: pod lo up: %w", err)
	}
	_, peerName := vethNames(id)
	eth, err := h.LinkByName(peerName)
	if err != nil {
		return fmt.Errorf("network: pod veth: %w", err)
	}
	if err := h.LinkSetName(eth, "eth0"); err != nil {
		return fmt.Errorf("network: rename eth0: %w", err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip, Mask: m.subnet.Mask}}
	if err := h.AddrAdd(eth, addr); err != nil {
		return fmt.Errorf("network: address %s: %w", ip, err)
	}
	if err := h.LinkSetUp(eth); err != nil {
		return fmt.Errorf("network: eth0 up: %w", err)
	}
	route := &netlink.Route{LinkIndex: eth.Attrs().Index, Gw: m.Gateway(), Dst: nil}
	if err := h.RouteAdd(route); err != nil {
		return fmt.Errorf("network: default route: %w", err)
	}
	return nil
}

// ensureNode creates the bridge, enables forwarding and installs masquerade
// once per Manager.
func (m *Manager) ensureNode() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.nodeDone {
		return nil
	}
	if err := m.ensureBridge(); err != nil {
		return err
	}
	if err := inNetNS(m.hostNS, enableForwarding); err != nil {
		return fmt.Errorf("network: enable forwarding: %w", err)
	}
	if err := m.enableRouteLocalnet(); err != nil {
		return fmt.Errorf("network: route_localnet on %s: %w", m.cfg.Bridge, err)
	}
	if err := inNetNS(m.hostNS, enableBridgeNetfilter); err != nil {
		return fmt.Errorf("network: bridge netfilter: %w", err)
	}
	if err := m.ensureMasquerade(); err != nil {
		return err
	}
	m.nodeDone = true
	return nil
}

func (m *Manager) ensureBridge() error {
	br, err := m.host.LinkByName(m.cfg.Bridge)
	if err != nil {
		br = &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: m.cfg.Bridge, MTU: m.cfg.MTU}}
		if err := m.host.LinkAdd(br); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("network: add bridge %s: %w", m.cfg.Bridge, err)
		}
		if br, err = m.host.LinkByName(m.cfg.Bridge); err != nil {
			return fmt.Errorf("network: bridge %s: %w", m.cfg.Bridge, err)
		}
	}
	gw := &netlink.Addr{IPNet: &net.IPNet{IP: m.Gateway(), Mask: m.subnet.Mask}}
	if err := m.host.AddrReplace(br, gw); err != nil {
		return fmt.Errorf("network: bridge address: %w", err)
	}
	if err := m.host.LinkSetUp(br); err != nil {
		return fmt.Errorf("network: bridge up: %w", err)
	}
	return nil
}

// RemoveNode deletes the bridge and the masquerade rules (for uninstall and tests).
func (m *Manager) RemoveNode() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nodeDone = false
	if br, err := m.host.LinkByName(m.cfg.Bridge); err == nil {
		if err := m.host.LinkDel(br); err != nil {
			return fmt.Errorf("network: delete bridge: %w", err)
		}
	}
	return m.removeMasquerade()
}

// enableBridgeNetfilter passes bridged traffic through conntrack where
// br_netfilter is loaded (as Docker's bridge does), so a pod's reply to
// another pod that reached it through a host port is un-NATed.
func enableBridgeNetfilter() error {
	err := os.WriteFile("/proc/sys/net/bridge/bridge-nf-call-iptables", []byte("1"), 0o644)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

func enableForwarding() error {
	return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644)
}

// inNetNS runs fn on an OS thread switched into ns; the thread is thrown
// away afterwards so no goroutine ever runs in the wrong namespace.
func inNetNS(ns netns.NsHandle, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := netns.Set(ns); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return <-errc
}
