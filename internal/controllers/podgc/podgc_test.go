package podgc

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/controller/controllertest"
)

var env *controllertest.Env

func TestMain(m *testing.M) { controllertest.Main(m, &env) }

func TestDeletesPodsOfGoneNodes(t *testing.T) {
	ns := env.Namespace(t)
	f := env.Factory()
	c, err := New(Config{Client: env.Client, Nodes: f.Core().V1().Nodes(), Pods: f.Core().V1().Pods()})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Run(t, f, c)
	ctx := context.Background()
	if _, err := env.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "gc-node"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mk := func(name, node string) {
		_, err := env.Client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "x"}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	mk("on-ghost", "ghost-node")
	mk("on-live", "gc-node")
	gone := func(name string) (bool, string) {
		_, err := env.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprintf("%s: %v", name, err)
	}
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) { return gone("on-ghost") })
	controllertest.Never(t, 500*time.Millisecond, func() (bool, string) { return gone("on-live") })
	if err := env.Client.CoreV1().Nodes().Delete(ctx, "gc-node", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) { return gone("on-live") })
}
