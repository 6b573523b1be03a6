package watchcache

import (
	"fmt"

	"k8s.io/apimachinery/pkg/watch"
)

// Filter decides whether an entry is visible to a watcher (prefix, label and field selectors).
type Filter func(*Entry) bool

// Watcher receives the events of one API watch. Events arrive on C in revision order; C is closed
// when the watcher falls too far behind, the cache relists, or Stop is called.
type Watcher struct {
	cache  *Cache
	filter Filter
	ch     chan Event
	after  int64 // deliver only events after this revision
	done   bool
}

// WatchOptions says where a watch starts.
type WatchOptions struct {
	// From is the resourceVersion to start after; 0 starts with the current state as Added events.
	From int64
	// Initial, with From==0, sends the current state (Added events) first.
	Initial bool
	Buffer  int
}

// Watch registers a watcher. With From > 0 it replays kept history after From, or fails with
// ErrTooOld. It returns the revision the initial state (if any) is consistent at.
func (c *Cache) Watch(opts WatchOptions, filter Filter) (*Watcher, []Event, int64, error) {
	if opts.Buffer <= 0 {
		opts.Buffer = 1024
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	w := &Watcher{cache: c, filter: filter, ch: make(chan Event, opts.Buffer)}
	var initial []Event
	switch {
	case opts.From == 0 || opts.Initial:
		w.after = c.rev
		if opts.From > c.rev {
			w.after = opts.From
		}
		if opts.Initial {
			initial = c.currentLocked(filter)
		}
	case opts.From < c.oldest:
		return nil, nil, 0, fmt.Errorf("%w: %d (%d)", ErrTooOld, opts.From, c.oldest+1)
	default:
		w.after = opts.From
		for i := 0; i < c.ringLen; i++ {
			ev := c.ring[(c.ringHead+i)%len(c.ring)]
			w.sendLocked(ev)
		}
	}
	c.watchers[w] = struct{}{}
	return w, initial, c.rev, nil
}

func (c *Cache) currentLocked(filter Filter) []Event {
	var out []Event
	for _, e := range c.items {
		if filter == nil || filter(e) {
			out = append(out, Event{Type: watch.Added, Entry: e, Rev: e.Rev})
		}
	}
	return out
}

// C delivers the events.
func (w *Watcher) C() <-chan Event { return w.ch }

// Stop unregisters the watcher and closes C.
func (w *Watcher) Stop() {
	w.cache.mu.Lock()
	defer w.cache.mu.Unlock()
	w.stopLocked()
	delete(w.cache.watchers, w)
}

func (w *Watcher) stopLocked() {
	if !w.done {
		w.done = true
		close(w.ch)
	}
}

// sendLocked delivers ev as the watcher sees it: an object entering the filter is Added, one
// leaving it is Deleted. A watcher whose buffer is full is stopped; its client resumes from the
// last revision it saw.
func (w *Watcher) sendLocked(ev Event) {
	if w.done || ev.Rev <= w.after {
		return
	}
	out, ok := w.translate(ev)
	if !ok {
		return
	}
	select {
	case w.ch <- out:
	default:
		w.stopLocked()
		delete(w.cache.watchers, w)
	}
}

func (w *Watcher) translate(ev Event) (Event, bool) {
	if w.filter == nil {
		return ev, true
	}
	cur := ev.Entry != nil && w.filter(ev.Entry)
	prev := ev.Prev != nil && w.filter(ev.Prev)
	switch ev.Type {
	case watch.Deleted:
		return ev, prev || cur
	case watch.Added:
		return ev, cur
	}
	switch {
	case cur && prev:
		return ev, true
	case cur:
		ev.Type = watch.Added
		return ev, true
	case prev:
		ev.Type = watch.Deleted
		return ev, true
	}
	return ev, false
}

// BookmarkRevision is the revision a bookmark may report: the cache's, provided every event up to
// it has been handed to this watcher (its buffer is empty).
func (w *Watcher) BookmarkRevision() (int64, bool) {
	w.cache.mu.RLock()
	defer w.cache.mu.RUnlock()
	if w.done || len(w.ch) > 0 {
		return 0, false
	}
	return w.cache.rev, true
}
