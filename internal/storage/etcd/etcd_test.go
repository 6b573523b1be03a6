package etcd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/klite/klite/internal/storage"
)

var store *Store

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "klite-etcd-test-*")
	if err != nil {
		panic(err)
	}
	e, err := StartEmbedded(context.Background(), EmbedConfig{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	store, err = Dial(context.Background(), []string{e.ClientURL})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	store.Close()
	e.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestCreateUpdateDeleteWithRevisions(t *testing.T) {
	ctx := context.Background()
	key := "/registry/test/crud"
	rev, err := store.Create(ctx, key, []byte("v1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Create(ctx, key, []byte("again")); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	if _, err := store.Update(ctx, key, []byte("stale"), rev-1); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("stale update: %v, want ErrConflict", err)
	}
	rev2, err := store.Update(ctx, key, []byte("v2"), rev)
	if err != nil || rev2 <= rev {
		t.Fatalf("update: rev %d, %v", rev2, err)
	}
	kv, err := store.Get(ctx, key)
	if err != nil || string(kv.Value) != "v2" || kv.Revision != rev2 {
		t.Fatalf("get: %+v %v", kv, err)
	}
	if _, _, err := store.Delete(ctx, key, rev); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("stale delete: %v, want ErrConflict", err)
	}
	_, prev, err := store.Delete(ctx, key, rev2)
	if err != nil || string(prev) != "v2" {
		t.Fatalf("delete: %q %v", prev, err)
	}
	if _, err := store.Get(ctx, key); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if _, err := store.Update(ctx, key, []byte("x"), rev2); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("update of missing key: %v, want ErrNotFound", err)
	}
}

func TestListPagesAtARevision(t *testing.T) {
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if _, err := store.Create(ctx, fmt.Sprintf("/registry/list/k%d", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	page, err := store.List(ctx, "/registry/list/", storage.ListOptions{Limit: 2})
	if err != nil || len(page.Items) != 2 || !page.More {
		t.Fatalf("first page: %+v %v", page, err)
	}
	_, _ = store.Create(ctx, "/registry/list/k9", []byte("late"))
	rest, err := store.List(ctx, "/registry/list/", storage.ListOptions{Revision: page.Revision, StartKey: page.Items[1].Key + "\x00"})
	if err != nil || len(rest.Items) != 3 {
		t.Fatalf("rest at the first page's revision: %d items, %v; want 3", len(rest.Items), err)
	}
	n, err := store.Count(ctx, "/registry/list/")
	if err != nil || n != 6 {
		t.Fatalf("count %d %v, want 6", n, err)
	}
}

func TestWatchFromRevisionAndProgress(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rev, _ := store.Create(ctx, "/registry/watch/a", []byte("1"))
	_, _ = store.Update(ctx, "/registry/watch/a", []byte("2"), rev)
	w := store.Watch(ctx, "/registry/watch/", rev)
	resp := <-w.C()
	if resp.Err != nil || len(resp.Events) != 1 || string(resp.Events[0].Value) != "2" || string(resp.Events[0].PrevValue) != "1" {
		t.Fatalf("watch from revision: %+v", resp)
	}
	cur, _ := store.CurrentRevision(ctx)
	if err := w.RequestProgress(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case resp := <-w.C():
		if len(resp.Events) != 0 || resp.Revision < cur {
			t.Fatalf("progress notification: %+v, want revision >= %d", resp, cur)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no progress notification")
	}
}

func TestCompactedReadsFail(t *testing.T) {
	ctx := context.Background()
	rev, _ := store.Create(ctx, "/registry/compact/a", []byte("1"))
	_, _ = store.Update(ctx, "/registry/compact/a", []byte("2"), rev)
	cur, _ := store.CurrentRevision(ctx)
	if err := store.Compact(ctx, cur); err != nil {
		t.Fatal(err)
	}
	if _, err := store.List(ctx, "/registry/compact/", storage.ListOptions{Revision: rev}); !errors.Is(err, storage.ErrCompacted) {
		t.Fatalf("list at compacted revision: %v, want ErrCompacted", err)
	}
	w := store.Watch(ctx, "/registry/compact/", rev-1)
	resp := <-w.C()
	if !errors.Is(resp.Err, storage.ErrCompacted) {
		t.Fatalf("watch from compacted revision: %+v, want ErrCompacted", resp)
	}
}
