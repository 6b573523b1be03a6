package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// PortMapping publishes a pod's port on the node, as a pod's
// containerPort with a hostPort does: connections to HostPort on HostIP
// (every local address of the node when empty, 127.0.0.1 included) reach
// ContainerPort on the pod's address. A mapping without a HostPort
// publishes nothing.
type PortMapping struct {
	// Protocol is "tcp" (the default), "udp" or "sctp".
	Protocol      string `json:"protocol,omitempty"`
	ContainerPort int32  `json:"containerPort"`
	HostPort      int32  `json:"hostPort,omitempty"`
	HostIP        string `json:"hostIP,omitempty"`
}

// hostPortRecord is one sandbox's published ports, kept on disk in
// <StateDir>/hostports/<id>.json so a restarted runtime restores them.
type hostPortRecord struct {
	ID    string        `json:"id"`
	IP    string        `json:"ip"`
	Ports []PortMapping `json:"ports"`
}

// published keeps the mappings that publish a host port, and checks them.
func published(ports []PortMapping) ([]PortMapping, error) {
	var out []PortMapping
	for _, p := range ports {
		if p.HostPort == 0 {
			continue
		}
		if p.HostPort < 0 || p.HostPort > 65535 || p.ContainerPort <= 0 || p.ContainerPort > 65535 {
			return nil, fmt.Errorf("network: port mapping %d:%d out of range", p.HostPort, p.ContainerPort)
		}
		if _, err := protocolNumber(p.Protocol); err != nil {
			return nil, err
		}
		if p.HostIP != "" && (net.ParseIP(p.HostIP) == nil || net.ParseIP(p.HostIP).To4() == nil) {
			return nil, fmt.Errorf("network: host IP %q is not an IPv4 address", p.HostIP)
		}
		out = append(out, p)
	}
	return out, nil
}

func protocolNumber(proto string) (byte, error) {
	switch strings.ToLower(proto) {
	case "", "tcp":
		return unix.IPPROTO_TCP, nil
	case "udp":
		return unix.IPPROTO_UDP, nil
	case "sctp":
		return unix.IPPROTO_SCTP, nil
	}
	return 0, fmt.Errorf("network: unknown protocol %q", proto)
}

func (m *Manager) hostPortDir() string { return filepath.Join(m.cfg.StateDir, "hostports") }

func (m *Manager) hostPortFile(id string) string {
	return filepath.Join(m.hostPortDir(), id+".json")
}

// publish records sandbox id's host ports and rewrites the rules.
func (m *Manager) publish(id string, ip net.IP, ports []PortMapping) error {
	if len(ports) == 0 {
		return nil
	}
	b, err := json.Marshal(hostPortRecord{ID: id, IP: ip.String(), Ports: ports})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(m.hostPortDir(), 0o700); err != nil {
		return fmt.Errorf("network: %w", err)
	}
	if err := os.WriteFile(m.hostPortFile(id), b, 0o600); err != nil {
		return fmt.Errorf("network: %w", err)
	}
	return m.resync()
}

// unpublish forgets sandbox id's host ports, if it had any, and rewrites
// the rules.
func (m *Manager) unpublish(id string) error {
	err := os.Remove(m.hostPortFile(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("network: %w", err)
	}
	return m.resync()
}

// resync rewrites klite's table from the records, under the node lock.
func (m *Manager) resync() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.nftSync(); err != nil {
		return fmt.Errorf("network: host ports need nftables: %w", err)
	}
	return nil
}

// hostPortRecords reads every sandbox's published ports, in ID order.
func (m *Manager) hostPortRecords() ([]hostPortRecord, error) {
	entries, err := os.ReadDir(m.hostPortDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	var recs []hostPortRecord
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(m.hostPortDir(), e.Name()))
		if err != nil {
			continue // removed meanwhile
		}
		var r hostPortRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("network: decode %s: %w", e.Name(), err)
		}
		recs = append(recs, r)
	}
	slices.SortFunc(recs, func(a, b hostPortRecord) int { return strings.Compare(a.ID, b.ID) })
	return recs, nil
}

// enableRouteLocalnet lets traffic to 127.0.0.1:<hostPort> leave through
// the bridge once DNAT has pointed it at a pod (the masquerade rule then
// gives it the bridge's address).
func (m *Manager) enableRouteLocalnet() error {
	return inNetNS(m.hostNS, func() error {
		path := filepath.Join("/proc/sys/net/ipv4/conf", m.cfg.Bridge, "route_localnet")
		return os.WriteFile(path, []byte("1"), 0o644)
	})
}

// addHostPortChains adds to table, for the records given:
//
//	chain prerouting { type nat hook prerouting priority dstnat; fib daddr type local jump hostports }
//	chain output     { type nat hook output priority dstnat; fib daddr type local jump hostports }
//	chain hostports  { [ip daddr HOSTIP] meta l4proto P th dport HOSTPORT dnat to PODIP:PORT ... }
func (m *Manager) addHostPortChains(c *nftables.Conn, table *nftables.Table, recs []hostPortRecord) error {
	hp := c.AddChain(&nftables.Chain{Name: "hostports", Table: table})
	for _, hook := range []struct {
		name string
		hook *nftables.ChainHook
	}{{"prerouting", nftables.ChainHookPrerouting}, {"output", nftables.ChainHookOutput}} {
		ch := c.AddChain(&nftables.Chain{Name: hook.name, Table: table, Type: nftables.ChainTypeNAT,
			Hooknum: hook.hook, Priority: nftables.ChainPriorityNATDest})
		c.AddRule(&nftables.Rule{Table: table, Chain: ch, Exprs: localDestJump(hp.Name)})
	}
	for _, r := range recs {
		ip := net.ParseIP(r.IP).To4()
		if ip == nil {
			return fmt.Errorf("network: host ports of %s: bad address %q", r.ID, r.IP)
		}
		for _, p := range r.Ports {
			exprs, err := dnatExprs(p, ip)
			if err != nil {
				return err
			}
			c.AddRule(&nftables.Rule{Table: table, Chain: hp, Exprs: exprs, UserData: []byte(r.ID)})
		}
	}
	return nil
}

// localDestJump is "fib daddr type local jump <chain>".
func localDestJump(chain string) []expr.Any {
	return []expr.Any{
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
		&expr.Verdict{Kind: expr.VerdictJump, Chain: chain},
	}
}

// dnatExprs is "[ip daddr HOSTIP] meta l4proto P th dport HOSTPORT dnat to IP:CONTAINERPORT".
func dnatExprs(p PortMapping, ip net.IP) ([]expr.Any, error) {
	proto, err := protocolNumber(p.Protocol)
	if err != nil {
		return nil, err
	}
	var out []expr.Any
	if p.HostIP != "" && !net.ParseIP(p.HostIP).IsUnspecified() {
		out = append(out,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: net.ParseIP(p.HostIP).To4()})
	}
	return append(out,
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(uint16(p.HostPort))},
		&expr.Immediate{Register: 1, Data: ip},
		&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(uint16(p.ContainerPort))},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	), nil
}

// addHostPortMasquerade adds to the postrouting chain the masquerade of
// host port traffic from the node's loopback, and per recorded pod of its
// hairpin traffic.
func (m *Manager) addHostPortMasquerade(c *nftables.Conn, chain *nftables.Chain, recs []hostPortRecord) {
	loopback := &net.IPNet{IP: net.IPv4(127, 0, 0, 0).To4(), Mask: net.CIDRMask(8, 32)}
	c.AddRule(&nftables.Rule{Table: chain.Table, Chain: chain, Exprs: dnatMasqueradeExprs(loopback, m.subnet)})
	for _, r := range recs {
		if ip := net.ParseIP(r.IP).To4(); ip != nil {
			pod := &net.IPNet{IP: ip, Mask: net.CIDRMask(32, 32)}
			c.AddRule(&nftables.Rule{Table: chain.Table, Chain: chain, Exprs: dnatMasqueradeExprs(pod, pod), UserData: []byte(r.ID)})
		}
	}
}

// dnatMasqueradeExprs is "ct status dnat ip saddr <src> ip daddr <dst>
// masquerade": traffic a host port sent to a pod from the node's loopback,
// or from the pod itself (hairpin), must come back through the node to be
// un-NATed.
func dnatMasqueradeExprs(src, dst *net.IPNet) []expr.Any {
	out := []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(ipsDstNAT), Xor: binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
	}
	out = append(out, subnetMatch(src, 12, expr.CmpOpEq)...)
	out = append(out, subnetMatch(dst, 16, expr.CmpOpEq)...)
	return append(out, &expr.Masq{})
}

// ipsDstNAT is conntrack's IPS_DST_NAT status bit.
const ipsDstNAT = 1 << 5

// subnetMatch compares the address at offset in the IPv4 header with n.
func subnetMatch(n *net.IPNet, offset uint32, op expr.CmpOp) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: []byte(n.Mask), Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: op, Register: 1, Data: n.IP.To4()},
	}
}
