package namespace

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"

	"github.com/klite/klite/internal/controller/controllertest"
)

var env *controllertest.Env

func TestMain(m *testing.M) {
	controllertest.Main(m, &env)
}

func start(t *testing.T) {
	f := env.Factory()
	c, err := New(Config{Client: env.Client, Dynamic: env.Dynamic, Discovery: discovery.NewDiscoveryClientForConfigOrDie(env.Config), Namespaces: f.Core().V1().Namespaces(), RecheckInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Run(t, f, c)
}

func TestDeleteNamespaceRemovesContentThenNamespace(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	other := env.Namespace(t)
	meta := func(name string, fin ...string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: ns, Finalizers: fin}
	}
	mustCreate(t, func() error {
		_, err := env.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: meta("cm")}, metav1.CreateOptions{})
		return err
	})
	mustCreate(t, func() error {
		_, err := env.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: meta("held", "example.com/hold")}, metav1.CreateOptions{})
		return err
	})
	mustCreate(t, func() error {
		_, err := env.Client.CoreV1().ConfigMaps(other).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "keep"}}, metav1.CreateOptions{})
		return err
	})
	mustCreate(t, func() error {
		_, err := env.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: meta("s")}, metav1.CreateOptions{})
		return err
	})
	mustCreate(t, func() error {
		_, err := env.Client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: meta("p"), Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{})
		return err
	})
	one := int32(1)
	lbl := map[string]string{"app": "x"}
	mustCreate(t, func() error {
		_, err := env.Client.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{ObjectMeta: meta("d"), Spec: appsv1.DeploymentSpec{Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbl}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}}}, metav1.CreateOptions{})
		return err
	})
	start(t)

	if err := env.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Everything without a finalizer goes; the held config map keeps the namespace Terminating
	// with conditions saying why.
	controllertest.Eventually(t, 20*time.Second, func() (bool, string) {
		n, err := env.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		remain := cond(n, corev1.NamespaceContentRemaining)
		fins := cond(n, corev1.NamespaceFinalizersRemaining)
		return n.Status.Phase == corev1.NamespaceTerminating && remain.Status == corev1.ConditionTrue &&
				remain.Message == "Some resources are remaining: configmaps has 1 resource instances" &&
				fins.Reason == "SomeFinalizersRemain" && cond(n, corev1.NamespaceDeletionDiscoveryFailure).Status == corev1.ConditionFalse,
			fmt.Sprintf("phase %s conditions %+v", n.Status.Phase, n.Status.Conditions)
	})
	for what, get := range map[string]func() error{
		"pod":    func() error { _, err := env.Client.CoreV1().Pods(ns).Get(ctx, "p", metav1.GetOptions{}); return err },
		"secret": func() error { _, err := env.Client.CoreV1().Secrets(ns).Get(ctx, "s", metav1.GetOptions{}); return err },
		"deployment": func() error {
			_, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "d", metav1.GetOptions{})
			return err
		},
		"configmap": func() error {
			_, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "cm", metav1.GetOptions{})
			return err
		},
	} {
		if err := get(); !apierrors.IsNotFound(err) {
			t.Errorf("%s still there: %v", what, err)
		}
	}
	if _, err := env.Client.CoreV1().ConfigMaps(other).Get(ctx, "keep", metav1.GetOptions{}); err != nil {
		t.Errorf("other namespace's config map touched: %v", err)
	}
	held, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "held", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	held.Finalizers = nil
	if _, err := env.Client.CoreV1().ConfigMaps(ns).Update(ctx, held, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, 20*time.Second, func() (bool, string) {
		_, err := env.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprintf("namespace get: %v", err)
	})
}

func TestLiveNamespaceUntouched(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	if _, err := env.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	start(t)
	controllertest.Never(t, time.Second, func() (bool, string) {
		_, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "cm", metav1.GetOptions{})
		return err != nil, fmt.Sprintf("config map: %v", err)
	})
}

func TestNewRequiresClients(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New with empty config succeeded")
	}
}

func cond(n *corev1.Namespace, t corev1.NamespaceConditionType) corev1.NamespaceCondition {
	for _, c := range n.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return corev1.NamespaceCondition{}
}

func mustCreate(t *testing.T, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatal(err)
	}
}
