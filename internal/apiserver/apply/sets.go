package apply

import (
	"bytes"
	"sync"

	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
)

// setCacheSize bounds each of a setCache's two generations.
const setCacheSize = 512

// setCache holds the decoded field sets of one kind's managedFields
// entries, keyed by their fieldsV1 bytes: the same bytes recur on every
// write of an object, and across the objects one controller makes from
// one template. Decoding follows upstream: parse, then reconcile with the
// kind's schema (which depends on the schema alone, not on the object).
// Sets in the cache are shared and never modified. It keeps two
// generations of at most setCacheSize entries and drops the older one
// when the newer fills, so recently used entries survive.
type setCache struct {
	zero *typed.TypedValue // the kind's zero object: its schema reconciles sets

	mu       sync.Mutex
	cur, old map[string]decodedSet
}

// decodedSet is one decoded entry.
type decodedSet struct {
	set *fieldpath.Set
	// canonical says encoding set gives back the bytes it came from.
	canonical bool
	// ownsManagedFields says set holds metadata.managedFields or a field in it.
	ownsManagedFields bool
}

func newSetCache(zero *typed.TypedValue) *setCache {
	return &setCache{zero: zero, cur: map[string]decodedSet{}, old: map[string]decodedSet{}}
}

// get decodes raw (nil meaning an entry without fieldsV1), from the cache when it can.
func (c *setCache) get(raw []byte) (decodedSet, error) {
	c.mu.Lock()
	d, ok := c.cur[string(raw)]
	if !ok {
		if d, ok = c.old[string(raw)]; ok {
			c.addLocked(string(raw), d)
		}
	}
	c.mu.Unlock()
	if ok {
		return d, nil
	}
	d, err := c.decode(raw)
	if err != nil {
		return d, err
	}
	c.mu.Lock()
	c.addLocked(string(raw), d)
	c.mu.Unlock()
	return d, nil
}

// put remembers set as the decoding of raw, which it encodes to.
func (c *setCache) put(raw []byte, set *fieldpath.Set) {
	d := decodedSet{set: set, canonical: true, ownsManagedFields: ownsManagedFields(set)}
	c.mu.Lock()
	c.addLocked(string(raw), d)
	c.mu.Unlock()
}

func (c *setCache) addLocked(key string, d decodedSet) {
	if len(c.cur) >= setCacheSize {
		c.old, c.cur = c.cur, make(map[string]decodedSet, setCacheSize)
	}
	c.cur[key] = d
}

func (c *setCache) decode(raw []byte) (decodedSet, error) {
	src := raw
	if src == nil {
		src = []byte("{}")
	}
	set := &fieldpath.Set{}
	if err := set.FromJSON(bytes.NewReader(src)); err != nil {
		return decodedSet{}, err
	}
	d := decodedSet{set: set}
	reconciled, err := typed.ReconcileFieldSetWithSchema(set, c.zero)
	if err != nil {
		return decodedSet{}, err
	}
	if reconciled != nil {
		d.set = reconciled
	} else if raw != nil {
		enc, err := set.ToJSON()
		d.canonical = err == nil && bytes.Equal(enc, raw)
	}
	d.ownsManagedFields = ownsManagedFields(d.set)
	return d, nil
}

// ownsManagedFields says set holds metadata.managedFields or a field in it.
func ownsManagedFields(set *fieldpath.Set) bool {
	md, ok := set.Children.Get(fieldpath.PathElement{FieldName: ptrTo("metadata")})
	if !ok {
		return false
	}
	pe := fieldpath.PathElement{FieldName: ptrTo("managedFields")}
	_, child := md.Children.Get(pe)
	return child || md.Members.Has(pe)
}

func ptrTo[T any](v T) *T { return &v }

// contains says every path in b is in a, without allocating.
func contains(a, b *fieldpath.Set) bool {
	ok := true
	b.Members.Iterate(func(pe fieldpath.PathElement) {
		ok = ok && a.Members.Has(pe)
	})
	b.Children.Iterate(func(pe fieldpath.PathElement) {
		if !ok {
			return
		}
		bc, _ := b.Children.Get(pe)
		ac, found := a.Children.Get(pe)
		ok = bc.Empty() || (found && contains(ac, bc))
	})
	return ok
}

// intersects says a path is in both a and b, without allocating.
func intersects(a, b *fieldpath.Set) bool {
	found := false
	a.Members.Iterate(func(pe fieldpath.PathElement) {
		found = found || b.Members.Has(pe)
	})
	a.Children.Iterate(func(pe fieldpath.PathElement) {
		if found {
			return
		}
		ac, _ := a.Children.Get(pe)
		if bc, ok := b.Children.Get(pe); ok {
			found = intersects(ac, bc)
		}
	})
	return found
}
