package network

import (
	"errors"
	"fmt"
	"net"
	"testing"
)

func TestIPAM(t *testing.T) {
	_, subnet, _ := net.ParseCIDR("10.99.0.0/29") // hosts .1-.6, .1 is the gateway
	dir := t.TempDir()
	a, err := NewIPAM(dir, subnet)
	if err != nil {
		t.Fatal(err)
	}
	if gw := a.Gateway().String(); gw != "10.99.0.1" {
		t.Errorf("gateway %s", gw)
	}
	seen := map[string]string{}
	for i := 0; i < 5; i++ {
		id := fmt.Sprint("pod", i)
		ip, err := a.Allocate(id)
		if err != nil {
			t.Fatal(err)
		}
		if prev, dup := seen[ip.String()]; dup || !subnet.Contains(ip) || ip.Equal(a.Gateway()) {
			t.Fatalf("%s got %s (dup of %q)", id, ip, prev)
		}
		seen[ip.String()] = id
		if again, _ := a.Allocate(id); !again.Equal(ip) {
			t.Errorf("Allocate not idempotent for %s: %s then %s", id, ip, again)
		}
	}
	if _, err := a.Allocate("pod5"); !errors.Is(err, ErrExhausted) {
		t.Fatalf("6th allocation err = %v, want ErrExhausted", err)
	}
	// A second IPAM on the same dir (another process, a restart) agrees.
	b, _ := NewIPAM(dir, subnet)
	if err := b.Release("pod2"); err != nil {
		t.Fatal(err)
	}
	ip, err := a.Allocate("pod5")
	if err != nil {
		t.Fatal(err)
	}
	if seen[ip.String()] != "pod2" {
		t.Errorf("after release got %s, want pod2's freed address", ip)
	}
	if err := a.Release("never-allocated"); err != nil {
		t.Errorf("Release of unknown id: %v", err)
	}
}

func TestIPAMReusesReleasedAddressLast(t *testing.T) {
	_, subnet, _ := net.ParseCIDR("10.99.1.0/24")
	a, _ := NewIPAM(t.TempDir(), subnet)
	first, _ := a.Allocate("a")
	_ = a.Release("a")
	second, _ := a.Allocate("b")
	if first.Equal(second) {
		t.Errorf("released %s handed out again at once", first)
	}
}
