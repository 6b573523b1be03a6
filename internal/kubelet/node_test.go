package kubelet

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func (e *env) get(path string) (string, int) {
	e.t.Helper()
	var addr string
	for i := 0; i < 100 && addr == ""; i++ {
		addr = e.kubelet.Addr()
		time.Sleep(20 * time.Millisecond)
	}
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get("https://" + addr + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode
}

func TestNodeRegistrationAndLease(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.SystemReserved = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("100Mi")}
		c.Labels = map[string]string{"tier": "test"}
	})
	ctx := context.Background()
	var node *corev1.Node
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		n, err := e.client.CoreV1().Nodes().Get(ctx, "node-1", metav1.GetOptions{})
		if err == nil && len(n.Status.Conditions) == 4 {
			node = n
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if node == nil {
		t.Fatal("node never got its status")
	}
	for key, want := range map[string]string{"kubernetes.io/hostname": "node-1", "kubernetes.io/os": "linux", "tier": "test"} {
		if node.Labels[key] != want {
			t.Errorf("label %s = %q, want %q", key, node.Labels[key], want)
		}
	}
	st := node.Status
	if st.Capacity.Pods().Value() != 110 || st.Capacity.Cpu().Value() < 1 {
		t.Errorf("capacity = %v", st.Capacity)
	}
	mem, alloc := st.Capacity[corev1.ResourceMemory], st.Allocatable[corev1.ResourceMemory]
	mem.Sub(resource.MustParse("100Mi"))
	if mem.Cmp(alloc) != 0 {
		t.Errorf("allocatable memory %s, want capacity - 100Mi = %s", alloc.String(), mem.String())
	}
	if _, ok := st.Capacity[corev1.ResourceEphemeralStorage]; !ok {
		t.Error("no ephemeral-storage capacity")
	}
	if st.Addresses[0] != (corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.0.0.10"}) {
		t.Errorf("addresses = %v", st.Addresses)
	}
	if st.NodeInfo.KubeletVersion != Version || st.NodeInfo.ContainerRuntimeVersion != "klite://0.1.0" || st.NodeInfo.KernelVersion == "" {
		t.Errorf("nodeInfo = %+v", st.NodeInfo)
	}
	// The API server proxies to the advertised port: the one this kubelet really listens on.
	if _, port, _ := net.SplitHostPort(e.kubelet.Addr()); port == "0" || fmt.Sprint(st.DaemonEndpoints.KubeletEndpoint.Port) != port {
		t.Errorf("daemonEndpoints = %v, want the listening port of %s", st.DaemonEndpoints, e.kubelet.Addr())
	}
	for _, c := range st.Conditions {
		want := corev1.ConditionFalse
		if c.Type == corev1.NodeReady {
			want = corev1.ConditionTrue
		}
		if c.Status != want {
			t.Errorf("condition %s = %s (%s)", c.Type, c.Status, c.Reason)
		}
	}
	// The lease is renewed every LeaseRenew (1 s in tests).
	first := e.lease(t)
	time.Sleep(2500 * time.Millisecond)
	second := e.lease(t)
	if !second.Spec.RenewTime.After(first.Spec.RenewTime.Time) || *second.Spec.HolderIdentity != "node-1" {
		t.Errorf("lease not renewed: %v then %v", first.Spec.RenewTime, second.Spec.RenewTime)
	}
	if len(second.OwnerReferences) != 1 || second.OwnerReferences[0].UID != node.UID {
		t.Errorf("lease owner = %v", second.OwnerReferences)
	}
	if body, code := e.get("/healthz"); code != 200 || body != "ok" {
		t.Errorf("healthz = %d %q", code, body)
	}
}

func (e *env) lease(t *testing.T) *coordinationv1.Lease {
	t.Helper()
	var l *coordinationv1.Lease
	for i := 0; i < 50; i++ {
		got, err := e.client.CoordinationV1().Leases("kube-node-lease").Get(context.Background(), "node-1", metav1.GetOptions{})
		if err == nil {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no lease")
	return l
}
