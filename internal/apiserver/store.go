package apiserver

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/klite/klite/internal/apiserver/watchcache"
	"github.com/klite/klite/internal/storage"
)

// store is one resource's view of storage: its keys, its codec and its watch cache.
type store struct {
	res   *resource
	kv    storage.Interface
	codec *codec
	cache *watchcache.Cache
	root  string // "/registry/<resource>/"
	// written holds copies of the objects this server just wrote, for the watch cache to take
	// instead of decoding the same object back from the event's JSON.
	written handoff
}

// handoff passes objects from the write path to the watch cache by key and revision. Encoding
// an object to JSON and decoding it back yields the same wire form (metav1.Time and MicroTime
// truncate in JSON and protobuf alike), so the cache may serve the written copy. Entries the cache
// never takes (a write whose event it missed while relisting) are dropped when the map is full.
type handoff struct {
	mu   sync.Mutex
	objs map[handoffKey]runtime.Object
}

type handoffKey struct {
	key string
	rev int64
}

// handoffMax bounds the objects waiting for the cache; it only lags behind by a few writes.
const handoffMax = 256

func (h *handoff) put(key string, rev int64, obj runtime.Object) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.objs == nil || len(h.objs) >= handoffMax {
		h.objs = make(map[handoffKey]runtime.Object)
	}
	h.objs[handoffKey{key, rev}] = obj
}

func (h *handoff) take(key string, rev int64) runtime.Object {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := handoffKey{key, rev}
	obj := h.objs[k]
	delete(h.objs, k)
	return obj
}

func newStore(res *resource, kv storage.Interface, c *codec, history int) *store {
	seg := res.storage
	if seg == "" {
		seg = res.plural
	}
	s := &store{res: res, kv: kv, codec: c, root: "/registry/" + seg + "/"}
	s.cache = watchcache.New(watchcache.Config{Store: kv, Prefix: s.root, Decode: s.decodeEntry, History: history})
	return s
}

func (s *store) key(ns, name string) string {
	if s.res.namespaced {
		return s.root + ns + "/" + name
	}
	return s.root + name
}

// prefix is the key prefix of a list: one namespace, or all of the resource.
func (s *store) prefix(ns string) string {
	if s.res.namespaced && ns != "" {
		return s.root + ns + "/"
	}
	return s.root
}

func (s *store) decodeEntry(key string, value []byte, rev int64) (*watchcache.Entry, error) {
	obj := s.written.take(key, rev)
	if obj == nil {
		var err error
		if obj, err = s.decode(value, rev); err != nil {
			return nil, fmt.Errorf("decode %s: %w", key, err)
		}
	}
	m, _ := meta.Accessor(obj)
	fields := map[string]string{"metadata.name": m.GetName()}
	if s.res.namespaced {
		fields["metadata.namespace"] = m.GetNamespace()
	}
	if s.res.fields != nil {
		for k, v := range s.res.fields(obj) {
			fields[k] = v
		}
	}
	return &watchcache.Entry{Key: key, Obj: obj, Rev: rev, Labels: m.GetLabels(), Fields: fields}, nil
}

// get reads the object from etcd (a consistent read).
func (s *store) get(ctx context.Context, ns, name string) (runtime.Object, int64, error) {
	kv, err := s.kv.Get(ctx, s.key(ns, name))
	if err != nil {
		return nil, 0, s.apiError(err, name)
	}
	obj, err := s.decode(kv.Value, kv.Revision)
	if err != nil {
		return nil, 0, apierrors.NewInternalError(err)
	}
	return obj, kv.Revision, nil
}

// create stores a new object and returns it with its resourceVersion.
func (s *store) create(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
	m, _ := meta.Accessor(obj)
	data, err := s.encode(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	key := s.key(m.GetNamespace(), m.GetName())
	rev, err := s.kv.Create(ctx, key, data)
	if err != nil {
		return nil, s.apiError(err, m.GetName())
	}
	m.SetResourceVersion(strconv.FormatInt(rev, 10))
	s.handOff(key, rev, obj)
	return obj, nil
}

// handOff gives the watch cache a private copy of an object just stored at rev, in its served
// kind with its resourceVersion set, as decodeEntry would produce it.
func (s *store) handOff(key string, rev int64, obj runtime.Object) {
	if s.res.storedAs != nil {
		return
	}
	c := obj.DeepCopyObject()
	c.GetObjectKind().SetGroupVersionKind(s.res.gvk)
	s.written.put(key, rev, c)
}

// errRetry asks guaranteedUpdate to read the object again and call the update function anew.
var errRetry = errors.New("retry")

// guaranteedUpdate reads the object, lets fn compute its replacement, and writes it if nothing
// changed in between; a concurrent change reruns fn on the fresh object. fn returns the object to
// store, or nil to delete it (its finalizers gone). fn must check resourceVersion preconditions
// itself, so that a stale client write fails with Conflict rather than being retried.
//
// The first attempt starts from a copy of the watch cache's object, as upstream's does, which
// spares a read from etcd and a decode: the write is conditional on that revision, so a cache
// that is behind costs a conflict and a second attempt from etcd, and any error fn returns on
// the cache's object is decided again on etcd's (a precondition may hold on the current object).
func (s *store) guaranteedUpdate(ctx context.Context, ns, name string, fn func(cur runtime.Object) (runtime.Object, error)) (runtime.Object, bool, error) {
	cur, rev, cached := s.cachedCopy(ns, name)
	for {
		if !cached {
			var err error
			if cur, rev, err = s.get(ctx, ns, name); err != nil {
				return nil, false, err
			}
		}
		fromCache := cached
		cached = false // every later attempt reads etcd
		next, err := fn(cur)
		if err != nil {
			if fromCache {
				continue
			}
			return nil, false, err
		}
		if next == nil {
			_, _, err := s.kv.Delete(ctx, s.key(ns, name), rev)
			if errors.Is(err, storage.ErrConflict) {
				continue
			}
			if err != nil {
				return nil, false, s.apiError(err, name)
			}
			return cur, true, nil
		}
		data, err := s.encode(next)
		if err != nil {
			return nil, false, apierrors.NewInternalError(err)
		}
		newRev, err := s.kv.Update(ctx, s.key(ns, name), data, rev)
		if errors.Is(err, storage.ErrConflict) || fromCache && errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, false, s.apiError(err, name)
		}
		m, _ := meta.Accessor(next)
		m.SetResourceVersion(strconv.FormatInt(newRev, 10))
		s.handOff(s.key(ns, name), newRev, next)
		return next, false, nil
	}
}

// cachedCopy is a private copy of the watch cache's object and its revision, if it has one (and
// the resource is stored as what it serves).
func (s *store) cachedCopy(ns, name string) (runtime.Object, int64, bool) {
	if s.res.storedAs != nil {
		return nil, 0, false
	}
	e, ok := s.cache.Get(s.key(ns, name))
	if !ok {
		return nil, 0, false
	}
	return e.Obj.DeepCopyObject(), e.Rev, true
}

// remove deletes the object if it is still at rev.
func (s *store) remove(ctx context.Context, ns, name string, rev int64) error {
	_, _, err := s.kv.Delete(ctx, s.key(ns, name), rev)
	if err != nil {
		return s.apiError(err, name)
	}
	return nil
}

// apiError maps storage errors to API errors for this resource.
func (s *store) apiError(err error, name string) error {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return apierrors.NewNotFound(s.res.gr(), name)
	case errors.Is(err, storage.ErrExists):
		return apierrors.NewAlreadyExists(s.res.gr(), name)
	case errors.Is(err, storage.ErrConflict):
		return conflict(s.res, name)
	case errors.Is(err, storage.ErrCompacted):
		return apierrors.NewResourceExpired(fmt.Sprintf("The resourceVersion for the provided list is too old: %v", err))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return apierrors.NewTimeoutError(fmt.Sprintf("request did not complete: %v", err), 1)
	}
	return apierrors.NewServiceUnavailable(fmt.Sprintf("storage unavailable: %v", err))
}

func conflict(res *resource, name string) error {
	return apierrors.NewConflict(res.gr(), name, errors.New("the object has been modified; please apply your changes to the latest version and try again"))
}

// decode reads a stored value as the served kind, converting from the storage kind where the
// resource shares another's storage (events.k8s.io Events are stored as core Events).
func (s *store) decode(value []byte, rev int64) (runtime.Object, error) {
	conv := s.res.storedAs
	if conv == nil {
		return s.codec.decodeStored(value, s.res.gvk, rev)
	}
	stored, err := s.codec.decodeStored(value, conv.gvk, rev)
	if err != nil {
		return nil, err
	}
	obj := conv.fromStorage(stored)
	obj.GetObjectKind().SetGroupVersionKind(s.res.gvk)
	return obj, nil
}

// encode writes obj in its storage kind.
func (s *store) encode(obj runtime.Object) ([]byte, error) {
	conv := s.res.storedAs
	if conv == nil {
		return s.codec.encodeStored(obj, s.res.gvk)
	}
	return s.codec.encodeStored(conv.toStorage(obj), conv.gvk)
}
