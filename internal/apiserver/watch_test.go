package apiserver_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/klite/klite/internal/apiserver"
	"github.com/klite/klite/internal/apiserver/apiservertest"
)

// next waits for one event.
func next(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("watch closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event within 10s")
	}
	return watch.Event{}
}

func expectEvent(t *testing.T, w watch.Interface, typ watch.EventType, name string) *corev1.ConfigMap {
	t.Helper()
	ev := next(t, w)
	c, ok := ev.Object.(*corev1.ConfigMap)
	if ev.Type != typ || !ok || c.Name != name {
		t.Fatalf("got %s %T %v, want %s of %s", ev.Type, ev.Object, ev.Object, typ, name)
	}
	return c
}

func TestWatchSeesChangesInOrder(t *testing.T) {
	ns := namespace(t)
	cms := cluster.Client.CoreV1().ConfigMaps(ns)
	w, err := cms.Watch(ctx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	a, _ := cms.Create(ctx(t), cm("a", nil), createOpts)
	expectEvent(t, w, watch.Added, "a")
	a.Data = map[string]string{"x": "1"}
	a, _ = cms.Update(ctx(t), a, metav1.UpdateOptions{})
	got := expectEvent(t, w, watch.Modified, "a")
	if got.ResourceVersion != a.ResourceVersion || got.Data["x"] != "1" {
		t.Fatalf("modified event carries %v rv %s, want rv %s", got.Data, got.ResourceVersion, a.ResourceVersion)
	}
	_ = cms.Delete(ctx(t), "a", metav1.DeleteOptions{})
	expectEvent(t, w, watch.Deleted, "a")
}

func TestWatchResumesFromResourceVersion(t *testing.T) {
	ns := namespace(t)
	cms := cluster.Client.CoreV1().ConfigMaps(ns)
	first, _ := cms.Create(ctx(t), cm("one", nil), createOpts)
	_, _ = cms.Create(ctx(t), cm("two", nil), createOpts)
	_, _ = cms.Create(ctx(t), cm("three", nil), createOpts)
	w, err := cms.Watch(ctx(t), metav1.ListOptions{ResourceVersion: first.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	expectEvent(t, w, watch.Added, "two")
	expectEvent(t, w, watch.Added, "three")
}

func TestWatchFromExpiredVersionIsGone(t *testing.T) {
	small := apiservertest.StartT(t, apiservertest.Options{Configure: func(c *apiserver.Config) { c.WatchCacheSize = 5 }})
	cms := small.Client.CoreV1().ConfigMaps("default")
	first, err := cms.Create(ctx(t), cm("first", nil), createOpts)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if _, err := cms.Create(ctx(t), cm(fmt.Sprintf("c%d", i), nil), createOpts); err != nil {
			t.Fatal(err)
		}
	}
	w, err := cms.Watch(ctx(t), metav1.ListOptions{ResourceVersion: first.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ev := next(t, w)
	status, ok := ev.Object.(*metav1.Status)
	if ev.Type != watch.Error || !ok || status.Code != 410 || status.Reason != metav1.StatusReasonExpired {
		t.Fatalf("got %s %+v, want ERROR 410 Expired", ev.Type, ev.Object)
	}
}

func TestListAtCompactedRevisionIsGone(t *testing.T) {
	ns := namespace(t)
	cms := cluster.Client.CoreV1().ConfigMaps(ns)
	old, _ := cms.Create(ctx(t), cm("old", nil), createOpts)
	latest, _ := cms.Create(ctx(t), cm("new", nil), createOpts)
	rev, _ := strconv.ParseInt(latest.ResourceVersion, 10, 64)
	if err := cluster.Store.Compact(ctx(t), rev); err != nil {
		t.Fatal(err)
	}
	_, err := cms.List(ctx(t), metav1.ListOptions{ResourceVersion: old.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
		t.Fatalf("list at compacted revision: want 410 Expired, got %v", err)
	}
	list, err := cms.List(ctx(t), metav1.ListOptions{ResourceVersion: latest.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	if err != nil || len(list.Items) != 2 {
		t.Fatalf("list at the compaction revision: %v items, %v", len(list.Items), err)
	}
}

func TestWatchWithSelectorsSeesObjectsEnterAndLeave(t *testing.T) {
	ns := namespace(t)
	cms := cluster.Client.CoreV1().ConfigMaps(ns)
	w, err := cms.Watch(ctx(t), metav1.ListOptions{LabelSelector: "tier=web"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	c, _ := cms.Create(ctx(t), cm("x", nil), createOpts)
	c.Labels = map[string]string{"tier": "web"}
	c, _ = cms.Update(ctx(t), c, metav1.UpdateOptions{})
	expectEvent(t, w, watch.Added, "x")
	c.Labels["tier"] = "db"
	_, _ = cms.Update(ctx(t), c, metav1.UpdateOptions{})
	expectEvent(t, w, watch.Deleted, "x")
}

func TestWatchBookmarksAndInitialEvents(t *testing.T) {
	ns := namespace(t)
	cms := cluster.Client.CoreV1().ConfigMaps(ns)
	for i := 0; i < 3; i++ {
		_, _ = cms.Create(ctx(t), cm(fmt.Sprintf("c%d", i), nil), createOpts)
	}
	yes := true
	w, err := cms.Watch(ctx(t), metav1.ListOptions{SendInitialEvents: &yes, AllowWatchBookmarks: true, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for i := 0; i < 3; i++ {
		if ev := next(t, w); ev.Type != watch.Added {
			t.Fatalf("initial event %d: %s", i, ev.Type)
		}
	}
	ev := next(t, w)
	m, ok := ev.Object.(metav1.Object)
	if ev.Type != watch.Bookmark || !ok || m.GetAnnotations()[metav1.InitialEventsAnnotationKey] != "true" {
		t.Fatalf("after initial events: got %s %+v, want the initial-events-end bookmark", ev.Type, ev.Object)
	}
	// sendInitialEvents without resourceVersionMatch=NotOlderThan is invalid.
	_, err = cms.Watch(ctx(t), metav1.ListOptions{SendInitialEvents: &yes, AllowWatchBookmarks: true})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("want Invalid, got %v", err)
	}
}

func TestWatchTimeoutEndsStream(t *testing.T) {
	ns := namespace(t)
	one := int64(1)
	w, err := cluster.Client.CoreV1().ConfigMaps(ns).Watch(context.Background(), metav1.ListOptions{TimeoutSeconds: &one})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-w.ResultChan():
		if ok {
			t.Fatal("unexpected event")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch with timeoutSeconds=1 still open after 10s")
	}
}
