package controller

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// ExpectationsTTL is how long unmet expectations hold a controller back before it assumes the
// events were lost and acts on what its caches show.
const ExpectationsTTL = 5 * time.Minute

// Expectations record, per controller key, the creates and deletes a controller has issued but its
// informers have not yet reported. While any are outstanding the controller must not compute a
// new diff from its caches, or a slow informer would make it create (or delete) twice.
// It is safe for concurrent use.
type Expectations struct {
	mu  sync.Mutex
	m   map[string]*expectation
	now func() time.Time
}

type expectation struct {
	adds    int
	deletes map[types.UID]bool
	at      time.Time
}

// NewExpectations returns empty expectations; now defaults to time.Now.
func NewExpectations(now func() time.Time) *Expectations {
	if now == nil {
		now = time.Now
	}
	return &Expectations{m: map[string]*expectation{}, now: now}
}

// Satisfied reports whether key has no outstanding creates or deletes (or they have expired).
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[key]
	if !ok {
		return true
	}
	if (x.adds <= 0 && len(x.deletes) == 0) || e.now().Sub(x.at) > ExpectationsTTL {
		delete(e.m, key)
		return true
	}
	return false
}

// ExpectCreations records that n creates are about to be issued for key, replacing any earlier
// record.
func (e *Expectations) ExpectCreations(key string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[key] = &expectation{adds: n, deletes: map[types.UID]bool{}, at: e.now()}
}

// ExpectDeletions records that the objects with uids are about to be deleted for key, replacing
// any earlier record.
func (e *Expectations) ExpectDeletions(key string, uids []types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := &expectation{deletes: map[types.UID]bool{}, at: e.now()}
	for _, u := range uids {
		x.deletes[u] = true
	}
	e.m[key] = x
}

// CreationObserved lowers key's outstanding creates by one: the informer saw a create, or a
// create call failed and will never be seen.
func (e *Expectations) CreationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok && x.adds > 0 {
		x.adds--
	}
}

// DeletionObserved marks uid's delete as seen for key.
func (e *Expectations) DeletionObserved(key string, uid types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		delete(x.deletes, uid)
	}
}

// Forget drops key's record (the controller object itself is gone).
func (e *Expectations) Forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}
