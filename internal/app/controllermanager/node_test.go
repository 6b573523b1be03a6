package controllermanager

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/controller/controllertest"
)

// A node stops heartbeating: it turns Unknown and tainted, its pods are evicted once their
// toleration runs out, and the ReplicaSet replaces them; the node gets a pod CIDR meanwhile.
func TestSilentNodeLosesItsPods(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	node := "silent-" + ns
	if _, err := env.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.CoreV1().Nodes().Delete(context.Background(), node, metav1.DeleteOptions{}) })
	now := metav1.NewMicroTime(time.Now())
	if _, err := env.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: node}, Spec: coordinationv1.LeaseSpec{HolderIdentity: &node, RenewTime: &now},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	startManager(t, func(o *Options) {
		o.Controllers = []string{"replicaset", "nodelifecycle", "taint-eviction-controller", "nodeipam"}
		o.NodeMonitorGracePeriod = 2 * time.Second
	})
	// Two pods, bound to the node as a scheduler would, tolerating unreachable for 1s.
	n := int32(2)
	one := int64(1)
	tmpl := podTemplate("silent", "nginx")
	tmpl.Spec.NodeName = node
	tmpl.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &one}}
	if _, err := env.Client.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "silent"},
		Spec: appsv1.ReplicaSetSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "silent"}}, Template: tmpl}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPods(t, ns, "silent", 2)
	first := map[string]bool{}
	for _, p := range livePods(t, ns, "silent") {
		first[p.Name] = true
	}
	controllertest.Eventually(t, 15*time.Second, func() (bool, string) {
		nd, _ := env.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		ready := ""
		for _, c := range nd.Status.Conditions {
			if c.Type == corev1.NodeReady {
				ready = string(c.Status)
			}
		}
		return ready == "Unknown" && len(nd.Spec.Taints) == 2 && nd.Spec.PodCIDR != "", fmt.Sprintf("ready=%q taints=%v cidr=%q", ready, nd.Spec.Taints, nd.Spec.PodCIDR)
	})
	// The evicted pods stay Terminating (no kubelet to finish them); two new ones replace them.
	controllertest.Eventually(t, 15*time.Second, func() (bool, string) {
		live := livePods(t, ns, "silent")
		fresh := 0
		for _, p := range live {
			if !first[p.Name] {
				fresh++
			}
		}
		return len(live) == 2 && fresh == 2, fmt.Sprintf("%d live pods, %d new", len(live), fresh)
	})
}
