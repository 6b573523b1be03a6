package daemonset_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/klite/klite/internal/controller/controllertest"
	"github.com/klite/klite/pkg/testcluster"
)

// On a whole cluster (scheduler, every controller, simulated nodes): a DaemonSet runs one pod
// on each node its nodeSelector and tolerations (its own and the defaults every DaemonSet pod
// gets) admit, follows nodes gaining and losing the label, and rolls a new image out to every
// node.
func TestOnePodPerEligibleNodeAndRollingUpdate(t *testing.T) {
	t.Parallel()
	edge := map[string]string{"role": "edge"}
	c := testcluster.Start(t, testcluster.Quiet(), testcluster.WithNodes(1), // node-0: no label
		testcluster.WithNodePool(testcluster.NodePool{Name: "edge", Nodes: 1, Labels: edge,
			Taints: []corev1.Taint{{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}}}),
		testcluster.WithNodePool(testcluster.NodePool{Name: "dedicated", Nodes: 1, Labels: edge,
			Taints: []corev1.Taint{{Key: "dedicated", Value: "x", Effect: corev1.TaintEffectNoSchedule}}}))
	client := c.Client()
	lbl := map[string]string{"app": "agent"}
	_, err := client.AppsV1().DaemonSets("default").Create(context.Background(), &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent"},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: lbl}, Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: lbl},
			Spec:       corev1.PodSpec{NodeSelector: edge, Containers: []corev1.Container{{Name: "c", Image: "agent:1"}}},
		}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// dedicated-0's taint is not tolerated, node-0 lacks the label; edge-0's unschedulable
	// taint is tolerated by default.
	waitPlacement(t, client, "edge-0:agent:1")
	updateDS(t, client, func(ds *appsv1.DaemonSet) {
		ds.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
	})
	waitPlacement(t, client, "dedicated-0:agent:1 edge-0:agent:1")
	// A node gaining the label gets a pod; a node losing it loses its pod.
	setLabels(t, client, "node-0", edge)
	setLabels(t, client, "edge-0", nil)
	waitPlacement(t, client, "dedicated-0:agent:1 node-0:agent:1")
	// Rolling update to agent:2 on every node.
	updateDS(t, client, func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.Containers[0].Image = "agent:2" })
	waitPlacement(t, client, "dedicated-0:agent:2 node-0:agent:2")
	controllertest.Eventually(t, 20*time.Second, func() (bool, string) {
		ds, err := client.AppsV1().DaemonSets("default").Get(context.Background(), "agent", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		s := ds.Status
		return s.DesiredNumberScheduled == 2 && s.CurrentNumberScheduled == 2 && s.UpdatedNumberScheduled == 2 && s.NumberAvailable == 2 &&
			s.NumberReady == 2 && s.NumberUnavailable == 0 && s.ObservedGeneration == ds.Generation, fmt.Sprintf("%+v", s)
	})
}

// placement renders "node:image" of the DaemonSet's live, running pods, sorted.
func placement(t *testing.T, client kubernetes.Interface) string {
	t.Helper()
	l, err := client.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=agent"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range l.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
			out = append(out, p.Spec.NodeName+":"+p.Spec.Containers[0].Image)
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func waitPlacement(t *testing.T, client kubernetes.Interface, want string) {
	t.Helper()
	controllertest.Eventually(t, 20*time.Second, func() (bool, string) {
		got := placement(t, client)
		return got == want, fmt.Sprintf("placement %q, want %q", got, want)
	})
}

func updateDS(t *testing.T, client kubernetes.Interface, f func(*appsv1.DaemonSet)) {
	t.Helper()
	for range 10 {
		ds, err := client.AppsV1().DaemonSets("default").Get(context.Background(), "agent", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		f(ds)
		if _, err = client.AppsV1().DaemonSets("default").Update(context.Background(), ds, metav1.UpdateOptions{}); err == nil {
			return
		}
	}
	t.Fatal("update kept failing")
}

// setLabels replaces the role label of a node (the simulator keeps the rest).
func setLabels(t *testing.T, client kubernetes.Interface, node string, labels map[string]string) {
	t.Helper()
	for range 10 {
		n, err := client.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		delete(n.Labels, "role")
		for k, v := range labels {
			n.Labels[k] = v
		}
		if _, err = client.CoreV1().Nodes().Update(context.Background(), n, metav1.UpdateOptions{}); err == nil {
			return
		}
	}
	t.Fatal("node update kept failing")
}
