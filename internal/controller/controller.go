// Package controller is the reconcile machinery every klite control loop shares, written once: a
// rate-limited work queue of object keys, workers that call a Reconciler, requeue with backoff on
// error or after a requested delay, waiting for informer caches, and expectations that keep a
// controller from acting twice on writes its informers have not yet seen.
//
// A control loop (internal/controllers/<x>) is a struct with Reconcile(ctx, key) error. It
// registers event handlers on shared informers that call Loop.Enqueue, and its Start(ctx) calls
// Loop.Start, which blocks until ctx is cancelled and every worker has exited.
package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Reconciler brings the object named by key (namespace/name, or name) to its declared state. It
// is level-based: it reads current state from listers, never from the event that queued it.
type Reconciler interface {
	Reconcile(ctx context.Context, key string) error
}

// ReconcileFunc adapts a function to Reconciler.
type ReconcileFunc func(ctx context.Context, key string) error

// Reconcile calls f.
func (f ReconcileFunc) Reconcile(ctx context.Context, key string) error { return f(ctx, key) }

// requeueAfter is returned by Reconcile to ask for another pass after a delay without counting
// as a failure.
type requeueAfter struct{ d time.Duration }

func (r requeueAfter) Error() string { return fmt.Sprintf("requeue after %s", r.d) }

// RequeueAfter returns an error that makes the loop reconcile the key again after d, resetting
// its failure backoff.
func RequeueAfter(d time.Duration) error { return requeueAfter{d} }

// Config configures a Loop.
type Config struct {
	Name       string     // the control loop's name, for logs and the queue
	Reconciler Reconciler // what each worker calls
	Workers    int        // concurrent workers (default 2)
	// Synced are the informers whose caches must be filled before the first reconcile.
	Synced []cache.InformerSynced
	Logger *slog.Logger
	// RateLimiter overrides the default per-item exponential (5ms..16s) plus overall bucket.
	RateLimiter workqueue.TypedRateLimiter[string]
}

// Loop is a work queue drained by workers that call a Reconciler.
type Loop struct {
	cfg   Config
	queue workqueue.TypedRateLimitingInterface[string]
	log   *slog.Logger
}

// New validates cfg and returns a Loop that does nothing until Start.
func New(cfg Config) (*Loop, error) {
	if cfg.Name == "" || cfg.Reconciler == nil {
		return nil, errors.New("controller: Name and Reconciler are required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RateLimiter == nil {
		cfg.RateLimiter = workqueue.NewTypedMaxOfRateLimiter(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](5*time.Millisecond, 16*time.Second),
			&workqueue.TypedBucketRateLimiter[string]{Limiter: newBucket()},
		)
	}
	q := workqueue.NewTypedRateLimitingQueueWithConfig(cfg.RateLimiter, workqueue.TypedRateLimitingQueueConfig[string]{Name: cfg.Name})
	return &Loop{cfg: cfg, queue: q, log: cfg.Logger.With("controller", cfg.Name)}, nil
}

// Enqueue queues the key of obj (a typed object, or a cache.DeletedFinalStateUnknown tombstone).
func (l *Loop) Enqueue(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		l.log.Warn("cannot queue object", "err", err)
		return
	}
	l.queue.Add(key)
}

// EnqueueKey queues key.
func (l *Loop) EnqueueKey(key string) { l.queue.Add(key) }

// EnqueueAfter queues key after d.
func (l *Loop) EnqueueAfter(key string, d time.Duration) { l.queue.AddAfter(key, d) }

// Handler queues the object of every add, update and delete.
func (l *Loop) Handler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    l.Enqueue,
		UpdateFunc: func(_, obj any) { l.Enqueue(obj) },
		DeleteFunc: l.Enqueue,
	}
}

// Len is the number of keys waiting (for tests and metrics).
func (l *Loop) Len() int { return l.queue.Len() }

// Logger is the loop's logger, tagged with the controller name.
func (l *Loop) Logger() *slog.Logger { return l.log }

// Start waits for the informer caches, runs the workers until ctx is cancelled, then shuts the
// queue down and returns once every worker has exited.
func (l *Loop) Start(ctx context.Context) error {
	defer l.queue.ShutDown()
	if !cache.WaitForCacheSync(ctx.Done(), l.cfg.Synced...) {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("%s: caches did not sync", l.cfg.Name)
	}
	l.log.Debug("starting workers", "workers", l.cfg.Workers)
	var wg sync.WaitGroup
	for range l.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l.processNext(ctx) {
			}
		}()
	}
	<-ctx.Done()
	l.queue.ShutDown()
	wg.Wait()
	return nil
}

// processNext reconciles one key; it returns false once the queue is shut down.
func (l *Loop) processNext(ctx context.Context) bool {
	key, quit := l.queue.Get()
	if quit {
		return false
	}
	defer l.queue.Done(key)
	err := l.cfg.Reconciler.Reconcile(ctx, key)
	var ra requeueAfter
	switch {
	case err == nil:
		l.queue.Forget(key)
	case errors.As(err, &ra):
		l.queue.Forget(key)
		l.queue.AddAfter(key, ra.d)
	case ctx.Err() != nil:
		// Shutting down: the error is the cancellation.
	case apierrors.IsConflict(err):
		// A stale cache: routine, retried as soon as the informer catches up.
		l.log.Debug("reconcile conflicted, will retry", "key", key, "err", err)
		l.queue.AddRateLimited(key)
	default:
		l.log.Info("reconcile failed, will retry", "key", key, "err", err, "retries", l.queue.NumRequeues(key))
		l.queue.AddRateLimited(key)
	}
	return true
}
