package network

import (
	"fmt"
	"os/exec"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// ensureMasquerade installs, in table "ip <Table>", a NAT postrouting
// chain masquerading traffic from the pod range to anywhere outside it,
// and the host ports recorded (hostports.go). Where nftables is
// unavailable it falls back to iptables (host netns only), without host
// ports.
func (m *Manager) ensureMasquerade() error {
	err := m.nftSync()
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

// nftSync replaces klite's table whole, in one transaction: masquerade
// and every recorded host port. The caller holds m.mu.
func (m *Manager) nftSync() error {
	recs, err := m.hostPortRecords()
	if err != nil {
		return err
	}
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
	m.addHostPortMasquerade(c, chain, recs)
	if err := m.addHostPortChains(c, table, recs); err != nil {
		return err
	}
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
	out := append(subnetMatch(m.subnet, 12, expr.CmpOpEq), subnetMatch(m.subnet, 16, expr.CmpOpNeq)...)
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
