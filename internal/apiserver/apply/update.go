package apply

import (
	"bytes"
	"cmp"
	"slices"
	"time"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
)

// maxUpdateManagers is how many Update entries upstream keeps before it
// folds the oldest into "ancient-changes"; the updater leaves such objects
// to the general path.
const maxUpdateManagers = 10

// updater records ownership for an update of an existing object without
// the general machinery, which deep-copies and types both whole objects
// (managedFields included), diffs them, decodes and schema-checks every
// entry and re-encodes them all on every write. It computes the same
// result (a test holds the two equal) from less work:
//
//   - only the parts of the objects that differ, and that the target may
//     own, are typed and compared (see diffParts);
//   - entries are decoded once per distinct fieldsV1 value (see setCache),
//     and the fieldsV1 bytes of entries that do not change are kept.
//
// Whatever it does not reproduce exactly (other API versions in
// managedFields, undecodable entries, more than ten updaters, the scale
// subresource) it declines, and the general path runs.
type updater struct {
	types   managedfields.TypeConverter
	version fieldpath.APIVersion
	sub     string
	filter  fieldpath.Filter // the reset fields of sub; nil when none
	skip    map[string]bool  // top-level fields the filter drops whole
	sets    *setCache
	now     func() time.Time
}

func newUpdater(cfg Config, k Kind, sub string, sets *setCache) *updater {
	u := &updater{types: cfg.TypeConverter, version: fieldpath.APIVersion(k.GVK.GroupVersion().String()),
		sub: sub, sets: sets, now: time.Now, skip: map[string]bool{}}
	if f := resetFields(k, sub); f != nil {
		u.filter = f[u.version]
	}
	switch {
	case sub == Status:
		u.skip["spec"], u.skip["metadata"] = true, true
	case sub == "" && k.Status:
		u.skip["status"] = true
	}
	return u
}

// owner is one managedFields entry being updated.
type owner struct {
	key   ownerKey
	entry metav1.ManagedFieldsEntry // as decoded; FieldsV1 is replaced on encoding
	set   *fieldpath.Set
	orig  *fieldpath.Set // set as decoded
	raw   []byte         // the fieldsV1 orig was decoded from when it encodes back to them, else nil
}

// ownerKey identifies an entry as upstream's manager identifier does.
type ownerKey struct {
	manager, operation, apiVersion, subresource string
}

func keyOf(e *metav1.ManagedFieldsEntry) ownerKey {
	k := ownerKey{e.Manager, string(e.Operation), e.APIVersion, e.Subresource}
	if e.Operation == metav1.ManagedFieldsOperationApply {
		k.apiVersion = ""
	}
	return k
}

// update records fieldManager's write of newObj over live and reports
// whether it did; on false newObj is untouched and the caller runs the
// general path.
func (u *updater) update(live, newObj runtime.Object, gvk schema.GroupVersionKind, fieldManager string) bool {
	lm, err := meta.Accessor(live)
	if err != nil {
		return false
	}
	nm, err := meta.Accessor(newObj)
	if err != nil {
		return false
	}
	owners, ok := u.owners(lm, nm)
	if !ok {
		return false
	}
	if len(owners) == 0 && lm.GetUID() != "" {
		// Upstream does not start tracking objects that predate it.
		nm.SetManagedFields(nil)
		newObj.GetObjectKind().SetGroupVersionKind(gvk)
		return true
	}
	diff, ok := u.compare(live, newObj, gvk)
	if !ok {
		return false
	}
	owners = u.record(owners, diff, fieldManager)
	if updaters(owners) > maxUpdateManagers {
		return false
	}
	entries, ok := u.encode(owners)
	if !ok {
		return false
	}
	newObj.GetObjectKind().SetGroupVersionKind(gvk)
	nm.SetManagedFields(entries)
	return true
}

// owners decodes the entries the update starts from: live's for a
// subresource; for the main resource the request's when they decode to
// something, none when the request resets them, else live's.
func (u *updater) owners(lm, nm metav1.Object) ([]owner, bool) {
	if u.sub != "" {
		return u.decode(lm.GetManagedFields())
	}
	sent := nm.GetManagedFields()
	if isReset(sent) {
		return nil, true
	}
	if len(sent) > 0 && !equalEntries(sent, lm.GetManagedFields()) {
		if owners, ok := u.decode(sent); ok {
			return owners, true
		}
		// Upstream falls back to live's; so may the general path.
		return nil, false
	}
	return u.decode(lm.GetManagedFields())
}

// isReset says the request asks for managedFields to be cleared: an empty
// list or a single empty entry.
func isReset(entries []metav1.ManagedFieldsEntry) bool {
	switch len(entries) {
	case 0:
		return entries != nil
	case 1:
		e := entries[0]
		return e.Manager == "" && e.Operation == "" && e.APIVersion == "" && e.Time == nil &&
			e.FieldsType == "" && e.FieldsV1 == nil && e.Subresource == ""
	}
	return false
}

// equalEntries says a and b are the same entries, so decode the same.
func equalEntries(a, b []metav1.ManagedFieldsEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if keyOf(x) != keyOf(y) || x.APIVersion != y.APIVersion || x.FieldsType != y.FieldsType ||
			!x.Time.Equal(y.Time) || (x.FieldsV1 == nil) != (y.FieldsV1 == nil) ||
			(x.FieldsV1 != nil && string(x.FieldsV1.Raw) != string(y.FieldsV1.Raw)) {
			return false
		}
	}
	return true
}

// decode turns entries into owners; it declines entries upstream would
// reject, merge or convert, and sets that own managedFields themselves
// (the diff leaves managedFields out).
func (u *updater) decode(entries []metav1.ManagedFieldsEntry) ([]owner, bool) {
	owners := make([]owner, 0, len(entries)+1)
	seen := make(map[ownerKey]bool, len(entries))
	for i := range entries {
		e := entries[i]
		k := keyOf(&e)
		if !validEntry(&e) || fieldpath.APIVersion(e.APIVersion) != u.version || seen[k] {
			return nil, false
		}
		seen[k] = true
		var raw []byte
		if e.FieldsV1 != nil {
			raw = e.FieldsV1.Raw
		}
		d, err := u.sets.get(raw)
		if err != nil || d.ownsManagedFields {
			return nil, false
		}
		o := owner{key: k, entry: e, set: d.set, orig: d.set}
		if d.canonical {
			o.raw = raw
		}
		owners = append(owners, o)
	}
	return owners, true
}

// validEntry holds what upstream's decoding requires of an entry, and
// names that survive its JSON round trip unchanged.
func validEntry(e *metav1.ManagedFieldsEntry) bool {
	switch e.Operation {
	case metav1.ManagedFieldsOperationApply, metav1.ManagedFieldsOperationUpdate:
	default:
		return false
	}
	return e.APIVersion != "" && e.FieldsType == "FieldsV1" &&
		utf8.ValidString(e.Manager) && utf8.ValidString(e.Subresource) && utf8.ValidString(e.APIVersion)
}

// compare diffs the parts of live and newObj the write may own.
func (u *updater) compare(live, newObj runtime.Object, gvk schema.GroupVersionKind) (*typed.Comparison, bool) {
	l, r, differ, ok := diffParts(live, newObj, u.skip)
	if !ok {
		return nil, false
	}
	if !differ {
		return &typed.Comparison{Added: &fieldpath.Set{}, Modified: &fieldpath.Set{}, Removed: &fieldpath.Set{}}, true
	}
	l.GetObjectKind().SetGroupVersionKind(gvk)
	r.GetObjectKind().SetGroupVersionKind(gvk)
	lt, err := u.types.ObjectToTyped(l, typed.AllowDuplicates)
	if err != nil {
		return nil, false
	}
	rt, err := u.types.ObjectToTyped(r, typed.AllowDuplicates)
	if err != nil {
		return nil, false
	}
	diff, err := lt.Compare(rt)
	if err != nil {
		return nil, false
	}
	return diff.FilterFields(u.filter), true
}

// record applies the comparison to the owners as upstream's update does:
// every owner loses the fields the write changed or removed, the writer
// gains the fields it changed or added (less the reset fields and the
// metadata no one owns), and owners left with nothing go.
func (u *updater) record(owners []owner, diff *typed.Comparison, fieldManager string) []owner {
	changed := diff.Modified.Union(diff.Added)
	lost := changed.Union(diff.Removed)
	gained := changed
	if u.filter != nil {
		gained = u.filter.Filter(gained)
	}
	gained = gained.Difference(unowned)
	self := u.self(fieldManager)
	writer := slices.IndexFunc(owners, func(o owner) bool { return o.key == keyOf(&self) })
	for i := range owners {
		if i == writer && !gained.Empty() && contains(gained, lost) && contains(owners[i].set, gained) {
			continue // (set - lost) + gained is set: the writer rewrote only its own fields
		}
		if intersects(lost, owners[i].set) {
			owners[i].set = owners[i].set.Difference(lost)
		}
	}
	if !gained.Empty() {
		owners = u.gain(owners, writer, self, gained)
	}
	kept := owners[:0]
	for _, o := range owners {
		if !o.set.Empty() {
			kept = append(kept, o)
		}
	}
	return kept
}

// self is the entry of fieldManager's writes through the updater's target.
func (u *updater) self(fieldManager string) metav1.ManagedFieldsEntry {
	if fieldManager == "" {
		fieldManager = "unknown"
	}
	return metav1.ManagedFieldsEntry{Manager: fieldManager, Operation: metav1.ManagedFieldsOperationUpdate,
		APIVersion: string(u.version), FieldsType: "FieldsV1", Subresource: u.sub}
}

// gain adds gained to the writer's entry (owners[writer], or a new one
// when writer is -1) and stamps it.
func (u *updater) gain(owners []owner, writer int, self metav1.ManagedFieldsEntry, gained *fieldpath.Set) []owner {
	now := &metav1.Time{Time: u.now().UTC()}
	if writer < 0 {
		self.Time = now
		return append(owners, owner{key: keyOf(&self), entry: self, set: gained})
	}
	if !contains(owners[writer].set, gained) {
		owners[writer].set = gained.Union(owners[writer].set)
	}
	owners[writer].entry.Time = now
	return owners
}

// updaters counts the owners that are Update entries.
func updaters(owners []owner) int {
	n := 0
	for _, o := range owners {
		if o.entry.Operation == metav1.ManagedFieldsOperationUpdate {
			n++
		}
	}
	return n
}

// encode writes the owners as entries in upstream's order, keeping the
// fieldsV1 of sets that did not change.
func (u *updater) encode(owners []owner) ([]metav1.ManagedFieldsEntry, bool) {
	if len(owners) == 0 {
		return nil, true
	}
	entries := make([]metav1.ManagedFieldsEntry, len(owners))
	for i, o := range owners {
		raw := o.raw
		if raw == nil || (o.set != o.orig && !o.set.Equals(o.orig)) {
			b, err := o.set.ToJSON()
			if err != nil {
				return nil, false
			}
			u.sets.put(b, o.set)
			raw = b
		}
		e := o.entry
		e.FieldsType = "FieldsV1"
		e.FieldsV1 = &metav1.FieldsV1{Raw: bytes.Clone(raw)}
		entries[i] = e
	}
	sortEntries(entries)
	return entries, true
}

// sortEntries orders entries as upstream stores them: Apply before Update,
// then oldest first (to the second), then by manager, apiVersion and
// subresource.
func sortEntries(entries []metav1.ManagedFieldsEntry) {
	seconds := func(t *metav1.Time) int64 {
		if t == nil {
			return 0
		}
		return t.Unix()
	}
	slices.SortFunc(entries, func(p, q metav1.ManagedFieldsEntry) int {
		return cmp.Or(
			cmp.Compare(p.Operation, q.Operation),
			cmp.Compare(seconds(p.Time), seconds(q.Time)),
			cmp.Compare(p.Manager, q.Manager),
			cmp.Compare(p.APIVersion, q.APIVersion),
			cmp.Compare(p.Subresource, q.Subresource))
	})
}
