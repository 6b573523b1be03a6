package testcluster

import (
	"net/netip"
	"testing"
)

func TestControllerManagerRuns(t *testing.T) {
	tests := []struct {
		controllers []string
		name        string
		want        bool
	}{
		{[]string{"*"}, "serviceaccount", true},
		{[]string{"*", "-serviceaccount"}, "serviceaccount", false},
		{[]string{"-serviceaccount", "*"}, "serviceaccount", false},
		{[]string{"deployment", "replicaset"}, "serviceaccount", false},
		{[]string{"deployment", "serviceaccount"}, "serviceaccount", true},
		{nil, "serviceaccount", false},
	}
	for _, tc := range tests {
		o := options{controllers: tc.controllers}
		if got := o.runs(tc.name); got != tc.want {
			t.Errorf("controllers %v: runs(%q) = %v, want %v", tc.controllers, tc.name, got, tc.want)
		}
	}
}

func TestPodCIDRs(t *testing.T) {
	tests := []struct {
		nodes, index int
		want         string
	}{
		{3, 0, "10.42.0.0"},
		{3, 2, "10.42.2.0"},
		{256, 255, "10.42.255.0"},
		{1000, 0, "10.64.0.0"},
		{1000, 999, "10.67.231.0"},
	}
	for _, tc := range tests {
		cidr := clusterCIDR(tc.nodes)
		got := podCIDRStart(cidr, tc.index)
		if got != netip.MustParseAddr(tc.want) || !cidr.Contains(got) {
			t.Errorf("%d nodes, node %d: %s in %s, want %s inside it", tc.nodes, tc.index, got, cidr, tc.want)
		}
	}
}

func TestOptionsShapeTheDefaultPool(t *testing.T) {
	o := defaultOptions()
	for _, opt := range []Option{
		WithNodePool(NodePool{Name: "gpu", Nodes: 2}),
		WithNodes(5), WithNodeResources("4", "8Gi", 20),
		WithNodeLabels(map[string]string{"a": "b"}),
	} {
		opt(&o)
	}
	if len(o.pools) != 2 || o.totalNodes() != 7 {
		t.Fatalf("pools %+v, want the default pool and gpu, 7 nodes", o.pools)
	}
	p := o.pools[0]
	if p.Name != DefaultPool || p.Nodes != 5 || p.CPU != "4" || p.Memory != "8Gi" || p.Pods != 20 || p.Labels["a"] != "b" {
		t.Errorf("default pool %+v", p)
	}
}
