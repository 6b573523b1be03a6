package network

import (
	"net"
	"os"
	"strings"
	"testing"
)

func TestPublishedPorts(t *testing.T) {
	tests := []struct {
		name    string
		ports   []PortMapping
		want    int
		wantErr string
	}{
		{name: "none", ports: nil, want: 0},
		{name: "container port only publishes nothing", ports: []PortMapping{{ContainerPort: 80}}, want: 0},
		{name: "tcp and udp", ports: []PortMapping{{ContainerPort: 80, HostPort: 8080},
			{Protocol: "UDP", ContainerPort: 53, HostPort: 5353}}, want: 2},
		{name: "host IP", ports: []PortMapping{{ContainerPort: 80, HostPort: 8080, HostIP: "127.0.0.1"}}, want: 1},
		{name: "bad protocol", ports: []PortMapping{{Protocol: "icmp", ContainerPort: 80, HostPort: 8080}}, wantErr: "protocol"},
		{name: "bad port", ports: []PortMapping{{ContainerPort: 0, HostPort: 8080}}, wantErr: "out of range"},
		{name: "IPv6 host IP", ports: []PortMapping{{ContainerPort: 80, HostPort: 8080, HostIP: "::1"}}, wantErr: "IPv4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := published(tc.ports)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(got) != tc.want {
				t.Fatalf("published = %v, %v; want %d mappings", got, err, tc.want)
			}
		})
	}
}

// TestHostPorts publishes a pod's port on the node: it answers on the
// node's loopback and bridge address, from the node and from pods (the
// pod itself included), a mapping bound to one host IP answers only
// there, a restarted manager keeps the ports, and Teardown withdraws them.
func TestHostPorts(t *testing.T) {
	hostNS := privateHostNS(t)
	cfg := Config{Bridge: "ktest1", Subnet: "10.78.0.0/24", StateDir: t.TempDir(), HostNetNS: hostNS, Table: "klite_hp_test"}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	t.Cleanup(func() { _ = m.RemoveNode() })
	podA, podB := startPod(t), startPod(t)
	gw := m.Gateway().String()
	ipA, err := m.Setup("sandbox-a", podA, []PortMapping{{ContainerPort: 8080, HostPort: 18080},
		{ContainerPort: 8080, HostPort: 18081, HostIP: gw}, {ContainerPort: 9090}})
	if err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	inNS(t, podA, func() (err error) { ln, err = net.Listen("tcp", ipA.String()+":8080"); return err })
	defer ln.Close()
	go serveHello(ln)
	if _, err := m.Setup("sandbox-b", podB, nil); err != nil {
		t.Fatal(err)
	}

	reach := func(ns string, addrs ...string) {
		t.Helper()
		for _, addr := range addrs {
			inNS(t, ns, func() error { return expectHello(addr) })
		}
	}
	reach(hostNS, "127.0.0.1:18080", gw+":18080", gw+":18081")
	reach(podA, gw+":18080") // hairpin
	// Pod to pod needs br_netfilter, which Setup switches on where loaded.
	if bridgeNetfilter(t, hostNS) {
		reach(podB, gw+":18080", gw+":18081")
	} else {
		t.Log("br_netfilter not loaded: pod-to-pod through a host port not checked")
	}
	refused(t, hostNS, "127.0.0.1:18081")

	m2, err := New(cfg) // a restarted runtime rewrites the table from its records
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if err := m2.Teardown("sandbox-b"); err != nil {
		t.Fatal(err)
	}
	if _, err := m2.Setup("sandbox-b", podB, nil); err != nil {
		t.Fatal(err)
	}
	reach(hostNS, "127.0.0.1:18080")

	if err := m2.Teardown("sandbox-a"); err != nil {
		t.Fatal(err)
	}
	refused(t, hostNS, "127.0.0.1:18080")
	refused(t, hostNS, gw+":18081")
}

// bridgeNetfilter reports whether bridged traffic passes conntrack in the
// namespace at ns.
func bridgeNetfilter(t *testing.T, ns string) (on bool) {
	inNS(t, ns, func() error {
		b, err := os.ReadFile("/proc/sys/net/bridge/bridge-nf-call-iptables")
		on = err == nil && strings.TrimSpace(string(b)) == "1"
		return nil
	})
	return on
}

// refused checks that nothing answers at addr from the namespace at ns.
func refused(t *testing.T, ns, addr string) {
	t.Helper()
	inNS(t, ns, func() error {
		if err := expectHello(addr); err == nil {
			t.Errorf("%s answered; want it unpublished", addr)
		}
		return nil
	})
}
