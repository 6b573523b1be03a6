package apply

import (
	"fmt"
	"log/slog"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// Subresources whose writes are tracked besides the main resource.
const (
	// Status is the status subresource; its entries carry subresource "status".
	Status = "status"
	// Scale is the scale subresource: a write of the parent object through
	// it owns only spec.replicas, in an entry with subresource "scale".
	Scale = "scale"
)

// Kind is one tracked kind.
type Kind struct {
	GVK schema.GroupVersionKind
	// Status says the kind has a status subresource: writes to the main
	// resource then do not own status, and writes to status own only status.
	Status bool
	// Scale says the kind has a scale subresource backed by spec.replicas.
	Scale bool
}

// Config configures a Manager.
type Config struct {
	// Kinds are the kinds whose writes are tracked; writes of other kinds
	// are left alone by Update and refused by Apply.
	Kinds []Kind
	// Scheme creates and converts objects; defaults to client-go's scheme.
	Scheme *runtime.Scheme
	// TypeConverter gives the structured-merge-diff schema of each kind;
	// defaults to upstream's schemas for the built-in kinds.
	TypeConverter managedfields.TypeConverter
	// Logger receives ownership-tracking failures that do not fail a write;
	// defaults to slog.Default().
	Logger *slog.Logger
}

// Manager tracks field ownership and performs server-side apply. It is safe
// for concurrent use.
type Manager struct {
	scheme   *runtime.Scheme
	log      *slog.Logger
	managers map[target]*managedfields.FieldManager
	creators map[schema.GroupVersionKind]*creator
	updaters map[target]*updater
}

// target is one kind's main resource (sub "") or one of its subresources.
type target struct {
	gvk schema.GroupVersionKind
	sub string
}

// New builds a Manager for cfg.Kinds; it fails when a kind has no schema.
func New(cfg Config) (*Manager, error) {
	if cfg.Scheme == nil {
		cfg.Scheme = scheme.Scheme
	}
	if cfg.TypeConverter == nil {
		cfg.TypeConverter = applyconfigurations.NewTypeConverter(cfg.Scheme)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m := &Manager{scheme: cfg.Scheme, log: cfg.Logger, managers: map[target]*managedfields.FieldManager{},
		creators: map[schema.GroupVersionKind]*creator{}, updaters: map[target]*updater{}}
	for _, k := range cfg.Kinds {
		if err := m.addKind(cfg, k); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Manager) addKind(cfg Config, k Kind) error {
	if err := checkSchema(cfg, k.GVK); err != nil {
		return err
	}
	subs := []string{""}
	if k.Status {
		subs = append(subs, Status)
	}
	if k.Scale {
		subs = append(subs, Scale)
	}
	for _, sub := range subs {
		fm, err := managedfields.NewDefaultFieldManager(cfg.TypeConverter, cfg.Scheme, noDefaults{}, cfg.Scheme,
			k.GVK, k.GVK.GroupVersion(), sub, resetFields(k, sub))
		if err != nil {
			return fmt.Errorf("field manager for %v: %w", k.GVK, err)
		}
		m.managers[target{k.GVK, sub}] = fm
	}
	c, err := newCreator(cfg, k)
	if err != nil {
		return fmt.Errorf("field manager for %v: %w", k.GVK, err)
	}
	m.creators[k.GVK] = c
	sets := newSetCache(c.zero)
	for _, sub := range subs {
		if sub != Scale {
			m.updaters[target{k.GVK, sub}] = newUpdater(cfg, k, sub, sets)
		}
	}
	return nil
}

// checkSchema fails when the type converter cannot type an empty object of gvk.
func checkSchema(cfg Config, gvk schema.GroupVersionKind) error {
	obj, err := cfg.Scheme.New(gvk)
	if err != nil {
		return fmt.Errorf("kind %v: %w", gvk, err)
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	if _, err := cfg.TypeConverter.ObjectToTyped(obj); err != nil {
		return fmt.Errorf("kind %v has no apply schema: %w", gvk, err)
	}
	return nil
}

// resetFields filters the fields a write to sub may own: not status for the
// main resource of a kind with a status subresource, not spec nor metadata
// for status, only spec.replicas for scale.
func resetFields(k Kind, sub string) map[fieldpath.APIVersion]fieldpath.Filter {
	var filter fieldpath.Filter
	switch {
	case sub == Status:
		filter = fieldpath.NewExcludeSetFilter(fieldpath.NewSet(fieldpath.MakePathOrDie("spec"), fieldpath.MakePathOrDie("metadata")))
	case sub == Scale:
		filter = fieldpath.NewIncludeMatcherFilter(fieldpath.MakePrefixMatcherOrDie("spec", "replicas"))
	case k.Status:
		filter = fieldpath.NewExcludeSetFilter(fieldpath.NewSet(fieldpath.MakePathOrDie("status")))
	default:
		return nil
	}
	return map[fieldpath.APIVersion]fieldpath.Filter{fieldpath.APIVersion(k.GVK.GroupVersion().String()): filter}
}

// noDefaults leaves defaulting to the API server's update flow, which runs
// after Apply.
type noDefaults struct{}

func (noDefaults) Default(runtime.Object) {}

// Tracks says whether writes of gvk to sub ("" for the main resource) are tracked.
func (m *Manager) Tracks(gvk schema.GroupVersionKind, sub string) bool {
	_, ok := m.managers[target{gvk, sub}]
	return ok
}

// Apply applies an apply patch (YAML or JSON) of the main resource by
// fieldManager to live, or to an empty object when live is nil (the result
// is then the object to create). The result is a new object of the kind's Go
// type with managedFields set; live is not modified. Without force a
// conflict with another manager is a 409 Conflict whose causes name each
// conflicting field and its manager; with force the applier takes the fields.
func (m *Manager) Apply(live runtime.Object, patch []byte, gvk schema.GroupVersionKind, fieldManager string, force bool) (runtime.Object, error) {
	return m.ApplySubresource(live, patch, gvk, "", fieldManager, force)
}

// ApplySubresource is Apply for a subresource of gvk ("" for the main resource).
func (m *Manager) ApplySubresource(live runtime.Object, patch []byte, gvk schema.GroupVersionKind, sub, fieldManager string, force bool) (runtime.Object, error) {
	fm, ok := m.managers[target{gvk, sub}]
	if !ok {
		return nil, unsupported(gvk, sub)
	}
	if err := ValidatePatchOptions(true, fieldManager, nil); err != nil {
		return nil, err
	}
	patchObj, err := decodePatch(patch)
	if err != nil {
		return nil, err
	}
	base, err := m.liveOrEmpty(live, gvk)
	if err != nil {
		return nil, err
	}
	out, err := fm.Apply(base, patchObj, fieldManager, force)
	if err != nil {
		return nil, applyError(err)
	}
	return m.typed(out, gvk)
}

// Update records ownership for an ordinary write (create when live is nil,
// update, or a non-apply patch) of the main resource by fieldManager with
// operation Update, and returns newObj with managedFields set. Call it with
// the object as it will be stored (defaulted). Ownership-tracking failures
// do not fail the write: as upstream, newObj keeps live's managedFields and
// the failure is logged. Writes of untracked kinds return newObj unchanged.
func (m *Manager) Update(live, newObj runtime.Object, gvk schema.GroupVersionKind, fieldManager string) (runtime.Object, error) {
	return m.UpdateSubresource(live, newObj, gvk, "", fieldManager)
}

// UpdateSubresource is Update for a subresource of gvk ("" for the main
// resource). Creates and updates of stored objects take shortcuts
// (creator, updater) that give what upstream's field manager gives; the
// cases they decline go through it.
func (m *Manager) UpdateSubresource(live, newObj runtime.Object, gvk schema.GroupVersionKind, sub, fieldManager string) (runtime.Object, error) {
	if newObj == nil {
		return nil, fmt.Errorf("update of %v: no new object", gvk)
	}
	fm, ok := m.managers[target{gvk, sub}]
	if !ok {
		return newObj, nil
	}
	if c := m.creators[gvk]; live == nil && sub == "" && c != nil {
		done, err := c.create(newObj, gvk, fieldManager)
		if err != nil {
			m.log.Error("record the creator's fields", "kind", gvk.String(), "err", err)
		}
		if done || err != nil {
			return newObj, nil
		}
	}
	if u := m.updaters[target{gvk, sub}]; live != nil && u != nil && u.update(live, newObj, gvk, fieldManager) {
		return newObj, nil
	}
	base := live
	if base == nil {
		empty, err := m.empty(gvk)
		if err != nil {
			return nil, err
		}
		base = empty
	}
	newObj.GetObjectKind().SetGroupVersionKind(gvk)
	out, err := fm.Update(base, newObj, fieldManager)
	if err != nil {
		m.keepLiveFields(base, newObj, gvk, err)
		return newObj, nil
	}
	return out, nil
}

// keepLiveFields restores live's managedFields on newObj after a failed update.
func (m *Manager) keepLiveFields(live, newObj runtime.Object, gvk schema.GroupVersionKind, err error) {
	l, _ := meta.Accessor(live)
	n, aerr := meta.Accessor(newObj)
	if aerr != nil {
		return
	}
	n.SetManagedFields(l.GetManagedFields())
	m.log.Error("update managed fields", "kind", gvk.String(), "object", n.GetNamespace()+"/"+n.GetName(), "err", err)
}

// liveOrEmpty is a copy of live with its kind set (live may be shared with
// readers), or an empty object of gvk.
func (m *Manager) liveOrEmpty(live runtime.Object, gvk schema.GroupVersionKind) (runtime.Object, error) {
	if live == nil {
		return m.empty(gvk)
	}
	obj := live.DeepCopyObject()
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return obj, nil
}

// empty is a new object of gvk with its kind set: the live object of a create.
func (m *Manager) empty(gvk schema.GroupVersionKind) (runtime.Object, error) {
	obj, err := m.scheme.New(gvk)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return obj, nil
}

// typed converts the field manager's result to the kind's Go type.
func (m *Manager) typed(obj runtime.Object, gvk schema.GroupVersionKind) (runtime.Object, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		out, err := m.scheme.New(gvk)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out); err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		obj = out
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return obj, nil
}

func unsupported(gvk schema.GroupVersionKind, sub string) error {
	what := gvk.Kind
	if sub != "" {
		what += "/" + sub
	}
	return apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "patch", schema.GroupResource{}, "",
		fmt.Sprintf("apply patches are not supported for %s", what), 0, false)
}
