package tainteviction_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/klite/klite/internal/controller/controllertest"
	"github.com/klite/klite/pkg/testcluster"
)

// On a whole cluster: pods scheduled onto a simulated node that gets a NoExecute taint are
// evicted — at once without a toleration, after tolerationSeconds with one, never when tolerated
// forever — and, the simulated kubelet confirming, disappear.
func TestEvictsFromTaintedNode(t *testing.T) {
	t.Parallel()
	c := testcluster.Start(t, testcluster.Quiet(), testcluster.WithNodes(1))
	ctx := context.Background()
	client := c.Client()
	pods := client.CoreV1().Pods("default")
	broken := func(seconds *int64) corev1.Toleration {
		return corev1.Toleration{Key: "example.com/broken", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: seconds}
	}
	for name, tols := range map[string][]corev1.Toleration{"brief": {broken(ptr.To[int64](3))}, "forever": {broken(nil)}, "none": nil} {
		_, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{Tolerations: tols, Containers: []corev1.Container{{Name: "c", Image: "x"}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	controllertest.Eventually(t, 20*time.Second, func() (bool, string) {
		l, err := pods.List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		running := 0
		for _, p := range l.Items {
			if p.Status.Phase == corev1.PodRunning && p.Spec.NodeName == "node-0" {
				running++
			}
		}
		return running == 3, fmt.Sprintf("%d of 3 pods running on node-0", running)
	})
	n, err := client.CoreV1().Nodes().Get(ctx, "node-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "example.com/broken", Effect: corev1.TaintEffectNoExecute, TimeAdded: &now})
	if _, err := client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	gone := func(name string) bool {
		_, err := pods.Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) { return gone("none"), "untolerating pod not gone" })
	// On a loaded machine noticing the first eviction can itself take a while: only an eviction
	// well inside the 3s toleration is wrong.
	if gone("brief") && time.Since(now.Time) < 2*time.Second {
		t.Fatal("pod tolerating 3s evicted at once")
	}
	controllertest.Eventually(t, 15*time.Second, func() (bool, string) { return gone("brief"), "pod not gone after its 3s" })
	if gone("forever") {
		t.Fatal("pod tolerating forever evicted")
	}
}
