package apiserver_test

import (
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func service(name string, typ corev1.ServiceType) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Type:     typ,
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}},
		},
	}
}

func TestClusterIPsAreUniqueUnderConcurrentCreates(t *testing.T) {
	ns := namespace(t)
	svcs := cluster.Client.CoreV1().Services(ns)
	const n = 40
	ips := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := svcs.Create(ctx(t), service(fmt.Sprintf("s%d", i), corev1.ServiceTypeClusterIP), createOpts)
			errs[i] = err
			if err == nil {
				ips[i] = s.Spec.ClusterIP
			}
		}()
	}
	wg.Wait()
	cidr := netip.MustParsePrefix("10.43.0.0/16")
	seen := map[string]int{}
	for i, ip := range ips {
		if errs[i] != nil {
			t.Fatalf("create s%d: %v", i, errs[i])
		}
		addr, err := netip.ParseAddr(ip)
		if err != nil || !cidr.Contains(addr) {
			t.Fatalf("s%d got ClusterIP %q, want one in %s", i, ip, cidr)
		}
		if j, dup := seen[ip]; dup {
			t.Fatalf("s%d and s%d both got %s", i, j, ip)
		}
		seen[ip] = i
	}
}

func TestClusterIPReleasedOnDelete(t *testing.T) {
	ns := namespace(t)
	svcs := cluster.Client.CoreV1().Services(ns)
	s, err := svcs.Create(ctx(t), service("a", corev1.ServiceTypeClusterIP), createOpts)
	if err != nil {
		t.Fatal(err)
	}
	ip := s.Spec.ClusterIP
	b := service("b", corev1.ServiceTypeClusterIP)
	b.Spec.ClusterIP = ip
	if _, err := svcs.Create(ctx(t), b, createOpts); !apierrors.IsInvalid(err) {
		t.Fatalf("claiming a taken IP: want Invalid, got %v", err)
	}
	if err := svcs.Delete(ctx(t), "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := svcs.Create(ctx(t), b, createOpts)
	if err != nil || got.Spec.ClusterIP != ip {
		t.Fatalf("after release, claiming %s: %v %v", ip, got, err)
	}
}

func TestHeadlessAndNodePortServices(t *testing.T) {
	ns := namespace(t)
	svcs := cluster.Client.CoreV1().Services(ns)
	h := service("headless", corev1.ServiceTypeClusterIP)
	h.Spec.ClusterIP = corev1.ClusterIPNone
	got, err := svcs.Create(ctx(t), h, createOpts)
	if err != nil || got.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Fatalf("headless: %v %v", got, err)
	}
	np, err := svcs.Create(ctx(t), service("np", corev1.ServiceTypeNodePort), createOpts)
	if err != nil {
		t.Fatal(err)
	}
	port := np.Spec.Ports[0].NodePort
	if port < 30000 || port > 32767 {
		t.Fatalf("nodePort %d outside 30000-32767", port)
	}
	dup := service("np2", corev1.ServiceTypeNodePort)
	dup.Spec.Ports[0].NodePort = port
	if _, err := svcs.Create(ctx(t), dup, createOpts); !apierrors.IsInvalid(err) {
		t.Fatalf("duplicate nodePort: want Invalid, got %v", err)
	}
	if err := svcs.Delete(ctx(t), "np", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := svcs.Create(ctx(t), dup, createOpts); err != nil {
		t.Fatalf("nodePort not released on delete: %v", err)
	}
	// Updates keep the allocations.
	cur, _ := svcs.Get(ctx(t), "np2", metav1.GetOptions{})
	cur.Labels = map[string]string{"x": "y"}
	upd, err := svcs.Update(ctx(t), cur, metav1.UpdateOptions{})
	if err != nil || upd.Spec.ClusterIP != cur.Spec.ClusterIP || upd.Spec.Ports[0].NodePort != port {
		t.Fatalf("update changed allocations: %v %v", upd, err)
	}
}

// An allocation whose Service was never stored (its API server died in between) or no longer
// holds it is freed by the repair, but only once a second pass still finds it unheld: a claim
// made since the previous pass may belong to a create in flight.
func TestRepairFreesLeakedAllocations(t *testing.T) {
	ns := namespace(t)
	svcs := cluster.Client.CoreV1().Services(ns)
	held, err := svcs.Create(ctx(t), service("held", corev1.ServiceTypeNodePort), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	leakedIP := leak(t, "/registry/ranges/serviceips/", ns+"/never-stored", "10.43.250.1", "10.43.250.3", "10.43.250.5")
	p, _ := strconv.Atoi(leak(t, "/registry/ranges/servicenodeports/", ns+"/held", "32700", "32701", "32702"))
	leakedPort := int32(p)
	withIP := service("wants-leaked-ip", corev1.ServiceTypeClusterIP)
	withIP.Spec.ClusterIP = leakedIP
	if _, err := svcs.Create(ctx(t), withIP.DeepCopy(), metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("create with a leaked IP before repair: %v, want Invalid (already allocated)", err)
	}

	suspects, err := cluster.Server.RepairAllocations(ctx(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(suspects) < 2 {
		t.Fatalf("first pass suspects %v, want the two leaked claims", suspects)
	}
	inFlight := "/registry/ranges/serviceips/" + leak(t, "/registry/ranges/serviceips/", ns+"/being-created", "10.43.250.2", "10.43.250.4", "10.43.250.6")
	if _, err := cluster.Server.RepairAllocations(ctx(t), suspects); err != nil {
		t.Fatal(err)
	}

	if _, err := svcs.Create(ctx(t), withIP, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create with the freed IP: %v", err)
	}
	port := service("wants-leaked-port", corev1.ServiceTypeNodePort)
	port.Spec.Ports[0].NodePort = leakedPort
	if _, err := svcs.Create(ctx(t), port, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create with the freed node port: %v", err)
	}
	if _, err := cluster.Store.Get(ctx(t), inFlight); err != nil {
		t.Fatalf("a claim seen once was freed: %v", err)
	}
	if got, err := svcs.Get(ctx(t), "held", metav1.GetOptions{}); err != nil || got.Spec.ClusterIP != held.Spec.ClusterIP {
		t.Fatalf("held service changed: %v %v", got, err)
	}
	other := service("other", corev1.ServiceTypeClusterIP)
	other.Spec.ClusterIP = held.Spec.ClusterIP
	if _, err := svcs.Create(ctx(t), other, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("a held IP was freed: create with it gave %v", err)
	}
	_, _, _ = cluster.Store.Delete(ctx(t), inFlight, 0)
}

// leak claims the first free value among candidates under prefix for owner, directly in etcd,
// as an API server that died before storing the Service would have left it.
func leak(t *testing.T, prefix, owner string, candidates ...string) string {
	t.Helper()
	for _, v := range candidates {
		if _, err := cluster.Store.Create(ctx(t), prefix+v, []byte(owner)); err == nil {
			return v
		}
	}
	t.Fatalf("all of %v are claimed under %s", candidates, prefix)
	return ""
}
