// Package storage is the contract between the API server and the key-value store that holds all
// cluster state. Keys follow /registry/<resource>/<namespace>/<name>; values are opaque bytes (the
// objects' JSON). Revisions are the store's global, monotonically increasing revision numbers: an
// object's resourceVersion is the revision of its last modification.
//
// The one implementation lives in storage/etcd, the only package that imports the etcd client.
package storage

import (
	"context"
	"errors"
)

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrNotFound: the key does not exist (at the requested revision).
	ErrNotFound = errors.New("key not found")
	// ErrExists: Create found the key already present.
	ErrExists = errors.New("key already exists")
	// ErrConflict: the key's current modification revision is not the expected one.
	ErrConflict = errors.New("revision conflict")
	// ErrCompacted: the requested revision has been compacted away.
	ErrCompacted = errors.New("revision compacted")
	// ErrFutureRevision: the requested revision is newer than the store's.
	ErrFutureRevision = errors.New("revision in the future")
)

// KV is one stored value and the revision that last modified it.
type KV struct {
	Key      string
	Value    []byte
	Revision int64
}

// ListOptions narrows a List. A zero Revision reads the latest state.
type ListOptions struct {
	Revision int64  // read the state as of this revision
	StartKey string // first key to return (inclusive); must be under the prefix
	Limit    int64  // at most this many items; 0 means all
}

// ListResult is one page of a List. Items are sorted by key. Revision is the revision the page was
// read at; More says that keys after the last item remain.
type ListResult struct {
	Items    []KV
	Revision int64
	More     bool
}

// EventType says what happened to a key.
type EventType int

const (
	EventPut EventType = iota
	EventDelete
)

// Event is one change. For a delete, Value is empty and PrevValue holds the last stored value.
type Event struct {
	Type      EventType
	Key       string
	Value     []byte
	PrevValue []byte
	Revision  int64
	Created   bool // a put that created the key
}

// WatchResponse is a batch of events, or (with no events) a progress notification saying the
// watch has seen everything up to Revision, or a terminal error.
type WatchResponse struct {
	Events   []Event
	Revision int64
	Err      error
}

// Watch is a running watch on a key prefix. C is closed when the watch ends (its context is
// cancelled or the store reports an error, delivered first as a response with Err set).
type Watch interface {
	C() <-chan WatchResponse
	// RequestProgress asks the store to send a progress notification on C.
	RequestProgress(ctx context.Context) error
}

// Interface is the key-value store. Every method is safe for concurrent use.
type Interface interface {
	Get(ctx context.Context, key string) (KV, error)
	List(ctx context.Context, prefix string, opts ListOptions) (ListResult, error)
	// Count returns how many keys are under prefix.
	Count(ctx context.Context, prefix string) (int64, error)
	// Create stores value under key if the key does not exist; it returns the new revision.
	Create(ctx context.Context, key string, value []byte) (int64, error)
	// Update replaces the value if the key's modification revision is still expectRev.
	Update(ctx context.Context, key string, value []byte, expectRev int64) (int64, error)
	// Delete removes the key if its modification revision is expectRev (0: unconditionally). It
	// returns the revision of the deletion and the deleted value.
	Delete(ctx context.Context, key string, expectRev int64) (int64, []byte, error)
	// Watch streams changes under prefix strictly after revision fromRev (0: from now).
	Watch(ctx context.Context, prefix string, fromRev int64) Watch
	// CurrentRevision is the store's latest revision.
	CurrentRevision(ctx context.Context) (int64, error)
	// Compact discards history before rev.
	Compact(ctx context.Context, rev int64) error
	Close() error
}
