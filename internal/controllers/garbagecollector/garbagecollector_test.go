package garbagecollector

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"

	"github.com/klite/klite/internal/controller/controllertest"
)

var env *controllertest.Env

func TestMain(m *testing.M) { controllertest.Main(m, &env) }

func start(t *testing.T) {
	t.Helper()
	c, err := New(Config{Metadata: metadata.NewForConfigOrDie(env.Config), Discovery: discovery.NewDiscoveryClientForConfigOrDie(env.Config)})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Run(t, nil, c)
}

// cm creates a config map owned by the given owners (blocking owner deletion when block).
func cm(t *testing.T, ns, name string, block bool, finalizers []string, owners ...*corev1.ConfigMap) *corev1.ConfigMap {
	t.Helper()
	obj := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Finalizers: finalizers}}
	for _, o := range owners {
		b := block
		obj.OwnerReferences = append(obj.OwnerReferences, metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: o.Name, UID: o.UID, BlockOwnerDeletion: &b})
	}
	out, err := env.Client.CoreV1().ConfigMaps(ns).Create(context.Background(), obj, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func del(t *testing.T, ns, name string, policy metav1.DeletionPropagation) {
	t.Helper()
	if err := env.Client.CoreV1().ConfigMaps(ns).Delete(context.Background(), name, metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil {
		t.Fatal(err)
	}
}

func get(ns, name string) (*corev1.ConfigMap, error) {
	return env.Client.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
}

func gone(t *testing.T, ns string, names ...string) {
	t.Helper()
	controllertest.Eventually(t, 15*time.Second, func() (bool, string) {
		for _, n := range names {
			if _, err := get(ns, n); !apierrors.IsNotFound(err) {
				return false, fmt.Sprintf("%s still there (%v)", n, err)
			}
		}
		return true, ""
	})
}

func TestBackgroundDeletesDependents(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	owner := cm(t, ns, "owner", false, nil)
	child := cm(t, ns, "child", false, nil, owner)
	cm(t, ns, "grandchild", false, nil, child)
	other := cm(t, ns, "other-owner", false, nil)
	cm(t, ns, "shared", false, nil, owner, other)
	del(t, ns, "owner", metav1.DeletePropagationBackground)
	gone(t, ns, "child", "grandchild")
	// A dependent with a live owner stays, minus its reference to the gone one.
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		s, err := get(ns, "shared")
		if err != nil {
			return false, err.Error()
		}
		return len(s.OwnerReferences) == 1 && s.OwnerReferences[0].UID == other.UID, fmt.Sprintf("owners %+v", s.OwnerReferences)
	})
}

func TestDanglingReferenceAtCreation(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	ghost := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ghost", UID: types.UID("00000000-0000-0000-0000-000000000001")}}
	cm(t, ns, "orphaned", false, nil, ghost)
	gone(t, ns, "orphaned")
	// An owner of the same name but another uid does not save it either.
	cm(t, ns, "ghost", false, nil)
	cm(t, ns, "orphaned2", false, nil, ghost)
	gone(t, ns, "orphaned2")
}

func TestLiveOwnerKeepsDependents(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	owner := cm(t, ns, "owner", false, nil)
	for i := range 20 {
		cm(t, ns, fmt.Sprintf("child-%d", i), true, nil, owner)
	}
	controllertest.Never(t, 1500*time.Millisecond, func() (bool, string) {
		l, err := env.Client.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{})
		return err != nil || len(l.Items) != 21, fmt.Sprintf("%d config maps (%v)", len(l.Items), err)
	})
}

func TestForegroundWaitsForBlockingDependents(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	owner := cm(t, ns, "owner", false, nil)
	child := cm(t, ns, "child", true, nil, owner)
	cm(t, ns, "grandchild", true, []string{"example.com/hold"}, child)
	cm(t, ns, "loose", false, nil, owner)
	del(t, ns, "owner", metav1.DeletePropagationForeground)

	// The held grandchild keeps child and owner, each waiting in foreground deletion.
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		g, err := get(ns, "grandchild")
		if err != nil || g.DeletionTimestamp == nil {
			return false, fmt.Sprintf("grandchild not being deleted (%v)", err)
		}
		return true, ""
	})
	controllertest.Never(t, time.Second, func() (bool, string) {
		o, err := get(ns, "owner")
		c, err2 := get(ns, "child")
		if err != nil || err2 != nil {
			return true, fmt.Sprintf("owner or child gone early: %v %v", err, err2)
		}
		return !hasFinalizer(o, metav1.FinalizerDeleteDependents) || !hasFinalizer(c, metav1.FinalizerDeleteDependents), "finalizer missing"
	})
	g, _ := get(ns, "grandchild")
	g.Finalizers = nil
	if _, err := env.Client.CoreV1().ConfigMaps(ns).Update(context.Background(), g, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	gone(t, ns, "grandchild", "child", "owner", "loose")
}

func TestOrphanKeepsDependents(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	owner := cm(t, ns, "owner", false, nil)
	other := cm(t, ns, "other", false, nil)
	cm(t, ns, "child", true, nil, owner)
	cm(t, ns, "child2", true, nil, owner, other)
	del(t, ns, "owner", metav1.DeletePropagationOrphan)
	gone(t, ns, "owner")
	c, err := get(ns, "child")
	if err != nil || len(c.OwnerReferences) != 0 {
		t.Fatalf("child: %v, owners %+v", err, c)
	}
	c2, err := get(ns, "child2")
	if err != nil || len(c2.OwnerReferences) != 1 || c2.OwnerReferences[0].UID != other.UID {
		t.Fatalf("child2: %v, %+v", err, c2)
	}
}

func hasFinalizer(o *corev1.ConfigMap, f string) bool {
	for _, x := range o.Finalizers {
		if x == f {
			return true
		}
	}
	return false
}
