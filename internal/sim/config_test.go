package sim

import (
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestParseTaints(t *testing.T) {
	tests := []struct {
		in      string
		want    corev1.Taint
		wantErr bool
	}{
		{in: "dedicated=gpu:NoSchedule", want: corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}},
		{in: "spot:PreferNoSchedule", want: corev1.Taint{Key: "spot", Effect: corev1.TaintEffectPreferNoSchedule}},
		{in: "k=v:NoExecute", want: corev1.Taint{Key: "k", Value: "v", Effect: corev1.TaintEffectNoExecute}},
		{in: "k=v", wantErr: true},
		{in: "k=v:Sometimes", wantErr: true},
		{in: "=v:NoSchedule", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTaints([]string{tc.in})
			if tc.wantErr {
				if err == nil {
					t.Fatalf("want an error, got %v", got)
				}
				return
			}
			if err != nil || len(got) != 1 || got[0] != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestNodeAddresses(t *testing.T) {
	cfg := Config{Client: nil}
	cfg.NamePrefix = "x"
	cfg.PodCIDRStart = mustAddr("10.42.0.0")
	for i, want := range map[int]string{0: "10.42.0.0/24", 1: "10.42.1.0/24", 256: "10.43.0.0/24"} {
		if got := newNode(&cfg, i).podCIDR.String(); got != want {
			t.Errorf("node %d pod CIDR %s, want %s", i, got, want)
		}
	}
	n := newNode(&cfg, 3)
	if a, b := n.allocIP(), n.allocIP(); a != "10.42.3.2" || b != "10.42.3.3" {
		t.Errorf("pod IPs %s, %s", a, b)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
