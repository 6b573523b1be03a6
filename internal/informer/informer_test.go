package informer_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/klite/klite/internal/controller/controllertest"
	"github.com/klite/klite/internal/informer"
)

var env *controllertest.Env

func TestMain(m *testing.M) { controllertest.Main(m, &env) }

// A cached object has no managedFields, and writing it back (what every
// controller does with what its lister returns) keeps the server's record
// of who owns which field.
func TestCacheDropsManagedFieldsAndUpdatesKeepThem(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := env.Namespace(t)
	cms := env.Client.CoreV1().ConfigMaps(ns)
	apply := applycorev1.ConfigMap("cm", ns).WithData(map[string]string{"owned-by-applier": "1"})
	if _, err := cms.Apply(ctx, apply, metav1.ApplyOptions{FieldManager: "applier"}); err != nil {
		t.Fatal(err)
	}

	f := informer.NewFactory(env.Client)
	lister := f.Core().V1().ConfigMaps().Lister()
	stop := make(chan struct{})
	f.Start(stop)
	defer f.Shutdown()
	defer close(stop)
	f.WaitForCacheSync(ctx.Done())
	cached, err := lister.ConfigMaps(ns).Get("cm")
	if err != nil {
		t.Fatal(err)
	}
	if cached.ManagedFields != nil {
		t.Fatalf("cached object has managedFields %v", cached.ManagedFields)
	}

	update := cached.DeepCopy()
	update.Data["written-by-controller"] = "2"
	got, err := cms.Update(ctx, update, metav1.UpdateOptions{FieldManager: "controller"})
	if err != nil {
		t.Fatal(err)
	}
	if m := managers(got); !m["applier"] || !m["controller"] {
		t.Fatalf("after an update from the cache, managers %v; want applier and controller", m)
	}
	// The applier still owns its key: applying without it removes it.
	if _, err := cms.Apply(ctx, applycorev1.ConfigMap("cm", ns).WithData(map[string]string{}), metav1.ApplyOptions{FieldManager: "applier"}); err != nil {
		t.Fatal(err)
	}
	final, err := cms.Get(ctx, "cm", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := final.Data["owned-by-applier"]; ok || final.Data["written-by-controller"] != "2" {
		t.Fatalf("data after re-apply = %v; want only written-by-controller", final.Data)
	}
}

func managers(cm *corev1.ConfigMap) map[string]bool {
	m := map[string]bool{}
	for _, e := range cm.ManagedFields {
		m[e.Manager] = true
	}
	return m
}

func TestDropManagedFieldsPassesNonObjects(t *testing.T) {
	in := "not an object"
	out, err := informer.DropManagedFields(in)
	if err != nil || out != in {
		t.Fatalf("DropManagedFields(%q) = %v, %v", in, out, err)
	}
}

// Two views of one shared factory share one cache; a view's Shutdown removes only its own
// handlers, and the informers keep running after the stop channel a view was started with
// closes.
func TestSharedViewsShareCachesAndStopAlone(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := env.Namespace(t)
	cms := env.Client.CoreV1().ConfigMaps(ns)
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "before"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	owner, stopOwner := context.WithCancel(ctx)
	shared := informer.NewShared(owner, env.Client)
	defer shared.Shutdown()
	defer stopOwner()

	a, b := shared.View(), shared.View()
	seenA, seenB := make(chan string, 10), make(chan string, 10)
	for v, seen := range map[*informer.View]chan string{a: seenA, b: seenB} {
		if _, err := v.Core().V1().ConfigMaps().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: func(o any) {
				if cm := o.(*corev1.ConfigMap); cm.Namespace == ns {
					seen <- cm.Name
				}
			},
		}); err != nil {
			t.Fatal(err)
		}
	}
	stopA := make(chan struct{})
	a.Start(stopA)
	b.Start(nil)
	a.WaitForCacheSync(ctx.Done())
	expect(t, seenA, "before")
	expect(t, seenB, "before")
	fromA, _ := a.Core().V1().ConfigMaps().Lister().ConfigMaps(ns).Get("before")
	fromB, _ := b.Core().V1().ConfigMaps().Lister().ConfigMaps(ns).Get("before")
	if fromA == nil || fromA != fromB {
		t.Fatalf("views hold different copies: %p %p", fromA, fromB)
	}

	close(stopA)
	a.Shutdown()
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "after"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	expect(t, seenB, "after")
	select {
	case name := <-seenA:
		t.Fatalf("a handler of a shut-down view saw %q", name)
	case <-time.After(200 * time.Millisecond):
	}
	if _, err := b.Core().V1().ConfigMaps().Lister().ConfigMaps(ns).Get("after"); err != nil {
		t.Fatalf("the shared cache stopped with the first view: %v", err)
	}
}

func expect(t *testing.T, seen chan string, want string) {
	t.Helper()
	select {
	case got := <-seen:
		if got != want {
			t.Fatalf("saw %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("did not see %q", want)
	}
}
