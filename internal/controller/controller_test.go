package controller

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"k8s.io/apimachinery/pkg/types"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is a Reconciler that fails or requeues a key a set number of times.
type recorder struct {
	mu      sync.Mutex
	calls   map[string]int
	fail    map[string]int
	requeue map[string]int
	seen    chan string
}

func (r *recorder) Reconcile(_ context.Context, key string) error {
	r.mu.Lock()
	r.calls[key]++
	n := r.calls[key]
	r.mu.Unlock()
	r.seen <- key
	switch {
	case n <= r.fail[key]:
		return errors.New("boom")
	case n <= r.requeue[key]:
		return RequeueAfter(10 * time.Millisecond)
	}
	return nil
}

func TestLoopRetriesAndRequeues(t *testing.T) {
	tests := []struct {
		name      string
		fail      int
		requeue   int
		wantCalls int
	}{
		{"success once", 0, 0, 1},
		{"fails twice then succeeds", 2, 0, 3},
		{"asks for two requeues", 0, 2, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{calls: map[string]int{}, fail: map[string]int{"ns/a": tc.fail}, requeue: map[string]int{"ns/a": tc.requeue}, seen: make(chan string, 100)}
			l, err := New(Config{Name: "test", Reconciler: r})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- l.Start(ctx) }()
			l.EnqueueKey("ns/a")
			for i := 0; i < tc.wantCalls; i++ {
				select {
				case <-r.seen:
				case <-time.After(5 * time.Second):
					t.Fatalf("reconcile %d never happened", i+1)
				}
			}
			select {
			case <-r.seen:
				t.Fatalf("extra reconcile after %d calls", tc.wantCalls)
			case <-time.After(100 * time.Millisecond):
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Start: %v", err)
			}
		})
	}
}

func TestLoopStartReturnsWhenCancelledAndNewValidates(t *testing.T) {
	l, err := New(Config{Name: "x", Reconciler: ReconcileFunc(func(context.Context, string) error { return nil }), Synced: nil})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Start(ctx); err != nil {
		t.Fatalf("cancelled Start should return nil, got %v", err)
	}
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without name and reconciler succeeded")
	}
}

func TestExpectations(t *testing.T) {
	now := time.Unix(1000, 0)
	e := NewExpectations(func() time.Time { return now })
	steps := []struct {
		name string
		do   func()
		want bool
	}{
		{"empty is satisfied", func() {}, true},
		{"two creates pending", func() { e.ExpectCreations("k", 2) }, false},
		{"one seen", func() { e.CreationObserved("k") }, false},
		{"both seen", func() { e.CreationObserved("k") }, true},
		{"deletes pending", func() { e.ExpectDeletions("k", []types.UID{"a", "b"}) }, false},
		{"unknown uid ignored", func() { e.DeletionObserved("k", "c") }, false},
		{"deletes seen", func() { e.DeletionObserved("k", "a"); e.DeletionObserved("k", "b") }, true},
		{"expires", func() { e.ExpectCreations("k", 1); now = now.Add(ExpectationsTTL + time.Second) }, true},
		{"forget", func() { e.ExpectCreations("k", 1); e.Forget("k") }, true},
	}
	for _, s := range steps {
		s.do()
		if got := e.Satisfied("k"); got != s.want {
			t.Fatalf("%s: Satisfied = %v, want %v", s.name, got, s.want)
		}
	}
}

func TestSlowStartBatch(t *testing.T) {
	tests := []struct {
		name      string
		count     int
		failAfter int64 // calls after this number fail; -1 never
		wantOK    int
		wantCalls int64
	}{
		{"all succeed", 10, -1, 10, 10},
		{"zero", 0, -1, 0, 0},
		{"first fails", 10, 0, 0, 1},
		{"fails in third batch", 10, 3, 3, 7}, // batches 1,2,4: the 4 run, all fail
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			ok, err := SlowStartBatch(tc.count, 1, func() error {
				if n := calls.Add(1); tc.failAfter >= 0 && n > tc.failAfter {
					return errors.New("refused")
				}
				return nil
			})
			if ok != tc.wantOK || calls.Load() != tc.wantCalls {
				t.Fatalf("ok=%d calls=%d, want ok=%d calls=%d", ok, calls.Load(), tc.wantOK, tc.wantCalls)
			}
			if (err != nil) != (tc.failAfter >= 0) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}
