package network

import (
	"fmt"
	"os/exec"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// ensureMasquerade installs, in table "ip <Table>", a NAT postrouting
// chain masquerading traffic from the pod range to anywhere outside it.
// Where nftables is unavailable it falls back to iptables (host netns only).
func (m *Manager) ensureMasquerade() error {
	err := m.nftMasquerade()
	if err == nil {
		return nil
	}
	if m.cfg.HostNetNS != "" {
		return fmt.Errorf("network: nftables masquerade: %w", err)
	}
	m.cfg.Logger.Warn("nftables unavailable, using iptables for masquerade", "err", err)
	return m.iptablesMasquerade()
}

func (m *Manager) nftConn() (*nftables.Conn, error) {
	return nftables.New(nftables.WithNetNSFd(int(m.hostNS)))
}

func (m *Manager) nftMasquerade() error {
	c, err := m.nftConn()
	if err != nil {
		return err
	}
	table := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: m.cfg.Table}
	if exists, err := m.nftTableExists(c); err != nil {
		return err
	} else if exists {
		c.DelTable(table) // replaced whole, in the same transaction
	}
	c.AddTable(table)
	chain := c.AddChain(&nftables.Chain{
		Name: "postrouting", Table: table, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource,
	})
	c.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: m.masqueradeExprs()})
	return c.Flush()
}

func (m *Manager) nftTableExists(c *nftables.Conn) (bool, error) {
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return false, err
	}
	for _, t := range tables {
		if t.Name == m.cfg.Table {
			return true, nil
		}
	}
	return false, nil
}

// masqueradeExprs is "ip saddr <subnet> ip daddr != <subnet> masquerade".
func (m *Manager) masqueradeExprs() []expr.Any {
	net4, mask := []byte(m.subnet.IP.To4()), []byte(m.subnet.Mask)
	match := func(offset uint32, op expr.CmpOp) []expr.Any {
		return []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: []byte{0, 0, 0, 0}},
			&expr.Cmp{Op: op, Register: 1, Data: net4},
		}
	}
	out := append(match(12, expr.CmpOpEq), match(16, expr.CmpOpNeq)...)
	return append(out, &expr.Masq{})
}

func (m *Manager) removeMasquerade() error {
	c, err := m.nftConn()
	if err != nil {
		return err
	}
	exists, err := m.nftTableExists(c)
	if err != nil || !exists {
		return m.removeIptables()
	}
	c.DelTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: m.cfg.Table})
	return c.Flush()
}

func (m *Manager) iptablesRule() []string {
	s := m.subnet.String()
	return []string{"-t", "nat", "POSTROUTING", "-s", s, "!", "-d", s, "-j", "MASQUERADE", "-m", "comment", "--comment", "klite"}
}

func (m *Manager) iptables(op string) error {
	r := m.iptablesRule()
	args := append([]string{r[0], r[1], op}, r[2:]...)
	if out, err := exec.Command("iptables", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("iptables %s: %w: %s", op, err, out)
	}
	return nil
}

func (m *Manager) iptablesMasquerade() error {
	if m.iptables("-C") == nil {
		return nil
	}
	return m.iptables("-A")
}

func (m *Manager) removeIptables() error {
	if m.cfg.HostNetNS != "" || m.iptables("-C") != nil {
		return nil
	}
	return m.iptables("-D")
}
