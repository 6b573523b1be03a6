package nodeipam

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/controller/controllertest"
)

var env *controllertest.Env

func TestMain(m *testing.M) { controllertest.Main(m, &env) }

func TestFirstFree(t *testing.T) {
	p := netip.MustParsePrefix
	tests := []struct {
		name   string
		prefix string
		size   int
		used   []string
		want   string
	}{
		{"empty", "10.42.0.0/16", 24, nil, "10.42.0.0/24"},
		{"skips used", "10.42.0.0/16", 24, []string{"10.42.0.0/24", "10.42.1.0/24"}, "10.42.2.0/24"},
		{"fills a hole", "10.42.0.0/16", 24, []string{"10.42.0.0/24", "10.42.2.0/24"}, "10.42.1.0/24"},
		{"carries into the next byte", "10.42.0.0/16", 25, []string{"10.42.0.0/25"}, "10.42.0.128/25"},
		{"exhausted", "10.42.0.0/23", 24, []string{"10.42.0.0/24", "10.42.1.0/24"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			used := map[netip.Prefix]bool{}
			for _, u := range tc.used {
				used[p(u)] = true
			}
			got, ok := firstFree(p(tc.prefix), tc.size, used)
			if tc.want == "" {
				if ok {
					t.Fatalf("got %s from an exhausted range", got)
				}
				return
			}
			if !ok || got != p(tc.want) {
				t.Fatalf("got %s %v, want %s", got, ok, tc.want)
			}
		})
	}
}

func TestAllocatesDistinctSubnetsAndReuses(t *testing.T) {
	f := env.Factory()
	c, err := New(Config{Client: env.Client, Nodes: f.Core().V1().Nodes(), ClusterCIDR: "10.42.0.0/16", MaskSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Run(t, f, c)
	ctx := context.Background()
	create := func(name string) {
		if _, err := env.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cidr := func(name string) string {
		var got string
		controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
			n, err := env.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			got = n.Spec.PodCIDR
			return got != "" && len(n.Spec.PodCIDRs) == 1 && n.Spec.PodCIDRs[0] == got, fmt.Sprintf("%s: %q %v", name, got, n.Spec.PodCIDRs)
		})
		return got
	}
	seen := map[string]string{}
	for i := range 5 {
		name := fmt.Sprintf("ipam-node-%d", i)
		create(name)
		got := cidr(name)
		if prev, dup := seen[got]; dup {
			t.Fatalf("%s and %s both got %s", prev, name, got)
		}
		seen[got] = name
	}
	if _, ok := seen["10.42.0.0/24"]; !ok {
		t.Fatalf("lowest subnet not used: %v", seen)
	}
	gone := cidr("ipam-node-0")
	if err := env.Client.CoreV1().Nodes().Delete(ctx, "ipam-node-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	create("ipam-node-new")
	if got := cidr("ipam-node-new"); got != gone {
		t.Fatalf("freed subnet %s not reused, got %s", gone, got)
	}
}

func TestNewValidates(t *testing.T) {
	f := env.Factory()
	for _, cidr := range []string{"nonsense", "10.42.0.0/25"} {
		if _, err := New(Config{Client: env.Client, Nodes: f.Core().V1().Nodes(), ClusterCIDR: cidr, MaskSize: 24}); err == nil {
			t.Errorf("cluster CIDR %q accepted", cidr)
		}
	}
}
