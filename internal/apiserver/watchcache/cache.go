// Package watchcache keeps the current state of one resource in memory, fed by a single etcd watch,
// and fans its changes out to any number of API watchers. Lists that can be served from memory are
// served from it.
//
//	etcd ──list+watch──▶ Cache.run ──apply──▶ items (key → *Entry), ring of recent events
//	                                  └─────▶ watchers (filter, buffered channel each)
//
// A consistent read (resourceVersion "") first learns etcd's current revision, then waits until the
// cache has caught up to it: a progress request to etcd makes the watch confirm the revision even
// when this resource saw no change.
package watchcache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/klite/klite/internal/storage"
)

// Entry is one object as of one revision. Entries are immutable once published; Obj must not be
// modified by readers.
type Entry struct {
	Key string
	Obj runtime.Object
	Rev int64
	// Attrs are the object's labels and selectable fields, computed once.
	Labels map[string]string
	Fields map[string]string

	encodeOnce sync.Once
	json       []byte
	encodeErr  error

	protoOnce sync.Once
	proto     []byte
	protoErr  error
}

// Protobuf returns the object's protobuf encoding, computed once per entry.
func (e *Entry) Protobuf(encode func(runtime.Object) ([]byte, error)) ([]byte, error) {
	e.protoOnce.Do(func() { e.proto, e.protoErr = encode(e.Obj) })
	return e.proto, e.protoErr
}

// JSON returns the object's JSON encoding, computed once per entry.
func (e *Entry) JSON(encode func(runtime.Object) ([]byte, error)) ([]byte, error) {
	e.encodeOnce.Do(func() { e.json, e.encodeErr = encode(e.Obj) })
	return e.json, e.encodeErr
}

// Event is a change of one key. Prev is the entry before the change (nil for a creation).
type Event struct {
	Type  watch.EventType
	Entry *Entry
	Prev  *Entry
	Rev   int64
}

// Config configures a Cache.
type Config struct {
	Store  storage.Interface
	Prefix string
	// Decode turns a stored value into an Entry (object with resourceVersion set, labels, fields).
	Decode func(key string, value []byte, rev int64) (*Entry, error)
	// History is how many recent events are kept for watches resuming from a resourceVersion.
	History int
	Logger  *slog.Logger
}

// ErrTooOld means a watch asked for a revision older than the kept history.
var ErrTooOld = errors.New("too old resource version")

// Cache mirrors one key prefix.
type Cache struct {
	cfg Config

	mu       sync.RWMutex
	items    map[string]*Entry
	rev      int64   // everything up to rev has been applied
	oldest   int64   // ring holds every event after oldest
	ring     []Event // circular buffer of recent events
	ringHead int     // index of the oldest event in ring
	ringLen  int
	advanced chan struct{} // closed and replaced when rev advances
	ready    bool
	watchers map[*Watcher]struct{}

	watch storage.Watch // the current etcd watch; guarded by mu
}

// New returns a Cache; Start fills and runs it.
func New(cfg Config) *Cache {
	if cfg.History <= 0 {
		cfg.History = 10000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Cache{
		cfg:      cfg,
		items:    map[string]*Entry{},
		ring:     make([]Event, min(cfg.History, 64)),
		advanced: make(chan struct{}),
		watchers: map[*Watcher]struct{}{},
	}
}

// Start lists and watches until ctx is cancelled, relisting after a broken watch. It returns
// after its goroutines have exited.
func (c *Cache) Start(ctx context.Context) error {
	defer c.closeWatchers()
	for ctx.Err() == nil {
		err := c.listAndWatch(ctx)
		if ctx.Err() != nil {
			break
		}
		c.cfg.Logger.Warn("watch cache restarting", "prefix", c.cfg.Prefix, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

func (c *Cache) listAndWatch(ctx context.Context) error {
	items, rev, err := c.list(ctx)
	if err != nil {
		return err
	}
	c.reset(items, rev)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := c.cfg.Store.Watch(wctx, c.cfg.Prefix, rev)
	c.mu.Lock()
	c.watch = w
	c.mu.Unlock()
	for resp := range w.C() {
		if resp.Err != nil {
			return resp.Err
		}
		c.apply(resp)
	}
	return ctx.Err()
}

func (c *Cache) list(ctx context.Context) (map[string]*Entry, int64, error) {
	items := map[string]*Entry{}
	opts := storage.ListOptions{Limit: 10000}
	for {
		res, err := c.cfg.Store.List(ctx, c.cfg.Prefix, opts)
		if err != nil {
			return nil, 0, fmt.Errorf("list %s: %w", c.cfg.Prefix, err)
		}
		for _, kv := range res.Items {
			e, err := c.cfg.Decode(kv.Key, kv.Value, kv.Revision)
			if err != nil {
				c.cfg.Logger.Error("undecodable object in storage", "key", kv.Key, "err", err)
				continue
			}
			items[kv.Key] = e
		}
		opts.Revision = res.Revision
		if !res.More || len(res.Items) == 0 {
			return items, res.Revision, nil
		}
		opts.StartKey = res.Items[len(res.Items)-1].Key + "\x00"
	}
}

// reset replaces the state after a (re)list; watchers of the old state are ended, as their
// position in history is lost.
func (c *Cache) reset(items map[string]*Entry, rev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for w := range c.watchers {
		w.stopLocked()
		delete(c.watchers, w)
	}
	c.items = items
	c.rev, c.oldest = rev, rev
	c.ringHead, c.ringLen = 0, 0
	c.ready = true
	c.signalLocked()
}

func (c *Cache) apply(resp storage.WatchResponse) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range resp.Events {
		c.applyEventLocked(ev)
	}
	if resp.Revision > c.rev {
		c.rev = resp.Revision
	}
	c.signalLocked()
}

func (c *Cache) applyEventLocked(ev storage.Event) {
	prev := c.items[ev.Key]
	out := Event{Prev: prev, Rev: ev.Revision}
	if ev.Type == storage.EventDelete {
		if prev == nil {
			return
		}
		delete(c.items, ev.Key)
		out.Type = watch.Deleted
		// The deleted object is reported as of the deletion's revision.
		out.Entry = c.redecode(prev, ev)
	} else {
		e, err := c.cfg.Decode(ev.Key, ev.Value, ev.Revision)
		if err != nil {
			c.cfg.Logger.Error("undecodable object in storage", "key", ev.Key, "err", err)
			return
		}
		c.items[ev.Key] = e
		out.Type, out.Entry = watch.Modified, e
		if prev == nil {
			out.Type = watch.Added
		}
	}
	if ev.Revision > c.rev {
		c.rev = ev.Revision
	}
	c.recordLocked(out)
	for w := range c.watchers {
		w.sendLocked(out)
	}
}

func (c *Cache) redecode(prev *Entry, ev storage.Event) *Entry {
	value := ev.PrevValue
	if len(value) == 0 {
		return prev
	}
	e, err := c.cfg.Decode(ev.Key, value, ev.Revision)
	if err != nil {
		return prev
	}
	return e
}

// recordLocked appends ev to the history ring, which grows (doubling) up to cfg.History events
// before it starts to drop the oldest: idle resources cost little memory.
func (c *Cache) recordLocked(ev Event) {
	if c.ringLen == len(c.ring) && len(c.ring) < c.cfg.History {
		grown := make([]Event, min(2*len(c.ring), c.cfg.History))
		for i := 0; i < c.ringLen; i++ {
			grown[i] = c.ring[(c.ringHead+i)%len(c.ring)]
		}
		c.ring, c.ringHead = grown, 0
	}
	n := len(c.ring)
	if c.ringLen == n {
		c.oldest = c.ring[c.ringHead].Rev
		c.ringHead = (c.ringHead + 1) % n
		c.ringLen--
	}
	c.ring[(c.ringHead+c.ringLen)%n] = ev
	c.ringLen++
}

func (c *Cache) signalLocked() {
	close(c.advanced)
	c.advanced = make(chan struct{})
}

// Revision is the revision the cache has applied everything up to.
func (c *Cache) Revision() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rev
}

// WaitFor blocks until the cache has applied every change up to rev, asking etcd for progress
// notifications meanwhile. It fails when ctx ends first.
func (c *Cache) WaitFor(ctx context.Context, rev int64) error {
	asked := false
	for {
		c.mu.RLock()
		ok, ch, w := c.ready && c.rev >= rev, c.advanced, c.watch
		c.mu.RUnlock()
		if ok {
			return nil
		}
		if w != nil && !asked {
			_ = w.RequestProgress(ctx)
			asked = true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("watch cache of %s not at revision %d: %w", c.cfg.Prefix, rev, ctx.Err())
		case <-time.After(250 * time.Millisecond):
			asked = false
		}
	}
}

// Snapshot returns the entries under prefix (sorted by key, starting after startAfter when set)
// for which keep returns true, up to limit (0: all), the revision they are consistent at, and
// whether more remained.
func (c *Cache) Snapshot(prefix, startAfter string, limit int, keep func(*Entry) bool) ([]*Entry, int64, bool) {
	c.mu.RLock()
	keys := make([]string, 0, len(c.items))
	for k := range c.items {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix && k > startAfter {
			keys = append(keys, k)
		}
	}
	entries := make([]*Entry, 0, len(keys))
	sort.Strings(keys)
	for _, k := range keys {
		entries = append(entries, c.items[k])
	}
	rev := c.rev
	c.mu.RUnlock()
	out := entries[:0]
	for i, e := range entries {
		if keep != nil && !keep(e) {
			continue
		}
		if limit > 0 && len(out) == limit {
			return out, rev, hasMatch(entries[i:], keep)
		}
		out = append(out, e)
	}
	return out, rev, false
}

func hasMatch(entries []*Entry, keep func(*Entry) bool) bool {
	for _, e := range entries {
		if keep == nil || keep(e) {
			return true
		}
	}
	return false
}

// Get returns the cached entry of key.
func (c *Cache) Get(key string) (*Entry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.items[key]
	return e, ok
}

func (c *Cache) closeWatchers() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for w := range c.watchers {
		w.stopLocked()
		delete(c.watchers, w)
	}
	c.ready = false
}
