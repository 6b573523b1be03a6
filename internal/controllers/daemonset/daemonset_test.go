package daemonset

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

	"github.com/klite/klite/internal/controller/controllertest"
)

var env *controllertest.Env

func TestMain(m *testing.M) { controllertest.Main(m, &env) }

func createNode(t *testing.T, name string, lbls map[string]string, taints ...corev1.Taint) {
	t.Helper()
	_, err := env.Client.CoreV1().Nodes().Create(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls}, Spec: corev1.NodeSpec{Taints: taints}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
}

// placement renders "node:image" of the DaemonSet's live pods, sorted.
func placement(t *testing.T, ns string) string {
	l, err := env.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range l.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, podNode(&p)+":"+p.Spec.Containers[0].Image)
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func waitPlacement(t *testing.T, ns, want string) {
	t.Helper()
	controllertest.Eventually(t, 15*time.Second, func() (bool, string) {
		got := placement(t, ns)
		return got == want, got
	})
}

func updateDS(t *testing.T, ns string, f func(*appsv1.DaemonSet)) {
	t.Helper()
	for range 10 {
		ds, err := env.Client.AppsV1().DaemonSets(ns).Get(context.Background(), "agent", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		f(ds)
		if _, err = env.Client.AppsV1().DaemonSets(ns).Update(context.Background(), ds, metav1.UpdateOptions{}); err == nil {
			return
		}
	}
	t.Fatal("update kept failing")
}

func TestOnePodPerEligibleNodeAndRollingUpdate(t *testing.T) {
	ns := env.Namespace(t)
	env.FakeKubelet(t, ns, func(*corev1.Pod) bool { return true })
	edge := map[string]string{"role": "edge"}
	createNode(t, "ds-a", edge)
	createNode(t, "ds-b", edge, corev1.Taint{Key: "dedicated", Value: "x", Effect: corev1.TaintEffectNoSchedule})
	createNode(t, "ds-c", nil)
	createNode(t, "ds-d", edge, corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute})
	f := env.Factory()
	c, err := New(Config{Client: env.Client, DaemonSets: f.Apps().V1().DaemonSets(), Nodes: f.Core().V1().Nodes(), Pods: f.Core().V1().Pods()})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Run(t, f, c)
	lbl := map[string]string{"app": "agent"}
	_, err = env.Client.AppsV1().DaemonSets(ns).Create(context.Background(), &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent"},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: lbl}, Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: lbl},
			Spec:       corev1.PodSpec{NodeSelector: edge, Containers: []corev1.Container{{Name: "c", Image: "agent:1"}}},
		}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// ds-b's taint is not tolerated, ds-c lacks the label; not-ready is tolerated by default.
	waitPlacement(t, ns, "ds-a:agent:1 ds-d:agent:1")
	updateDS(t, ns, func(ds *appsv1.DaemonSet) {
		ds.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
	})
	waitPlacement(t, ns, "ds-a:agent:1 ds-b:agent:1 ds-d:agent:1")
	// A new eligible node gets a pod; a node that loses its label loses its pod.
	createNode(t, "ds-e", edge)
	n, _ := env.Client.CoreV1().Nodes().Get(context.Background(), "ds-a", metav1.GetOptions{})
	n.Labels = nil
	if _, err := env.Client.CoreV1().Nodes().Update(context.Background(), n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPlacement(t, ns, "ds-b:agent:1 ds-d:agent:1 ds-e:agent:1")
	// Rolling update to agent:2, never more than one node without an available pod.
	updateDS(t, ns, func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.Containers[0].Image = "agent:2" })
	waitPlacement(t, ns, "ds-b:agent:2 ds-d:agent:2 ds-e:agent:2")
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		ds, _ := env.Client.AppsV1().DaemonSets(ns).Get(context.Background(), "agent", metav1.GetOptions{})
		s := ds.Status
		return s.DesiredNumberScheduled == 3 && s.CurrentNumberScheduled == 3 && s.UpdatedNumberScheduled == 3 && s.NumberAvailable == 3 &&
			s.NumberReady == 3 && s.NumberUnavailable == 0 && s.ObservedGeneration == ds.Generation, fmt.Sprintf("%+v", s)
	})
}

func TestPodIsPinnedToItsNode(t *testing.T) {
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "ns"}}
	pod := newPod(ds, "h", "node-7")
	if podNode(pod) != "node-7" || pod.Labels[HashLabel] != "h" || len(pod.Spec.Tolerations) != len(defaultTolerations) {
		t.Fatalf("pod %+v", pod.Spec)
	}
	if !matchesNodeSelector(pod.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-7"}}) {
		t.Fatal("pin does not match its node")
	}
	if matchesNodeSelector(pod.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-8"}}) {
		t.Fatal("pin matches another node")
	}
}
