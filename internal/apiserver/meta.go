package apiserver

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"reflect"
	"strconv"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/klite/klite/internal/apiserver/defaults"
	"github.com/klite/klite/internal/apiserver/validation"
)

const nameAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// randomSuffix is the 5 characters generateName appends, from upstream's alphabet.
func randomSuffix() string {
	b := make([]byte, 5)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(nameAlphabet))))
		b[i] = nameAlphabet[n.Int64()]
	}
	return string(b)
}

// prepareCreate fills the server-owned metadata of a new object and checks its namespace against
// the URL's.
func (s *Server) prepareCreate(res *resource, obj runtime.Object, ns string) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return apierrors.NewBadRequest(err.Error())
	}
	if res.namespaced {
		if m.GetNamespace() == "" {
			m.SetNamespace(ns)
		} else if m.GetNamespace() != ns {
			return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
		}
	} else {
		m.SetNamespace("")
	}
	if m.GetName() == "" && m.GetGenerateName() != "" {
		m.SetName(m.GetGenerateName() + randomSuffix())
	}
	m.SetUID(types.UID(uuid.NewUUID()))
	m.SetCreationTimestamp(metav1.NewTime(s.cfg.Now().Truncate(1e9)))
	m.SetResourceVersion("")
	m.SetDeletionTimestamp(nil)
	m.SetDeletionGracePeriodSeconds(nil)
	m.SetSelfLink("")
	m.SetGeneration(0)
	if specOf(obj).IsValid() {
		m.SetGeneration(1)
	}
	return nil
}

// prepareUpdate carries the server-owned metadata over from the stored object.
func prepareUpdate(obj, old runtime.Object) {
	m, _ := meta.Accessor(obj)
	o, _ := meta.Accessor(old)
	m.SetUID(o.GetUID())
	m.SetCreationTimestamp(o.GetCreationTimestamp())
	m.SetDeletionTimestamp(o.GetDeletionTimestamp())
	m.SetDeletionGracePeriodSeconds(o.GetDeletionGracePeriodSeconds())
	m.SetGeneration(o.GetGeneration())
	m.SetSelfLink("")
	if o.GetNamespace() != "" {
		m.SetNamespace(o.GetNamespace())
	}
}

// bumpGeneration increments the generation when the (defaulted) spec changed.
func bumpGeneration(obj, old runtime.Object) {
	m, _ := meta.Accessor(obj)
	o, _ := meta.Accessor(old)
	if spec, oldSpec := specOf(obj), specOf(old); spec.IsValid() && !apiequality.Semantic.DeepEqual(spec.Interface(), oldSpec.Interface()) {
		m.SetGeneration(o.GetGeneration() + 1)
	}
}

func specOf(obj runtime.Object) reflect.Value {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return v.Elem().FieldByName("Spec")
}

// statusOf returns the object's Status field, if it has one.
func statusOf(obj runtime.Object) reflect.Value {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return v.Elem().FieldByName("Status")
}

// copyStatus sets dst's status to src's.
func copyStatus(dst, src runtime.Object) {
	d, sv := statusOf(dst), statusOf(src)
	if d.IsValid() && sv.IsValid() && d.CanSet() {
		d.Set(sv)
	}
}

// resetStatus clears the status of a new object.
func resetStatus(obj runtime.Object) {
	if st := statusOf(obj); st.IsValid() && st.CanSet() {
		st.Set(reflect.Zero(st.Type()))
	}
}

// checkUpdateMeta refuses changes to a stored object's identity.
func checkUpdateMeta(res *resource, obj, old runtime.Object, ns, name string) error {
	m, _ := meta.Accessor(obj)
	if m.GetName() != name {
		return apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), name))
	}
	if res.namespaced && m.GetNamespace() != "" && m.GetNamespace() != ns {
		return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	o, _ := meta.Accessor(old)
	if m.GetUID() != "" && m.GetUID() != o.GetUID() {
		return apierrors.NewConflict(res.gr(), name, fmt.Errorf("Precondition failed: UID in precondition: %s, UID in object meta: %s", m.GetUID(), o.GetUID()))
	}
	return nil
}

// checkResourceVersion fails with Conflict when the client's resourceVersion is stale.
func checkResourceVersion(res *resource, obj runtime.Object, curRev int64) error {
	m, _ := meta.Accessor(obj)
	rv := m.GetResourceVersion()
	if rv == "" {
		return nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("invalid resourceVersion %q", rv))
	}
	if n != curRev {
		return conflict(res, m.GetName())
	}
	return nil
}

// upstreamDefaults applies upstream's defaults (and, on update, its pre-validation fix-ups).
func upstreamDefaults(obj, old runtime.Object) {
	if old == nil {
		defaults.Apply(obj)
		return
	}
	defaults.ApplyUpdate(obj, old)
}

// upstreamValidation is the validation package behind the Validator interface.
type upstreamValidation struct{}

func (upstreamValidation) ValidateCreate(obj runtime.Object) field.ErrorList {
	return validation.ValidateCreate(obj)
}

func (upstreamValidation) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return validation.ValidateUpdate(obj, old)
}

func (upstreamValidation) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return validation.ValidateStatusUpdate(obj, old)
}

func invalid(res *resource, obj runtime.Object, errs field.ErrorList) error {
	m, _ := meta.Accessor(obj)
	return apierrors.NewInvalid(res.gvk.GroupKind(), m.GetName(), errs)
}
