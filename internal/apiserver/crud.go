package apiserver

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/klite/klite/internal/apiserver/admission"
	"github.com/klite/klite/internal/apiserver/apply"
	"github.com/klite/klite/internal/apiserver/auth"
)

// errDryRun stops guaranteedUpdate before it writes; the computed object is kept by the caller.
var errDryRun = errors.New("dry run")

func (s *Server) getObject(w http.ResponseWriter, r *http.Request, st *store, ri requestInfo) {
	out, err := negotiate(r)
	if err != nil {
		writeError(w, err)
		return
	}
	obj, _, err := st.get(r.Context(), ri.namespace, ri.name)
	if err != nil {
		writeError(w, err)
		return
	}
	s.respondObject(w, st, http.StatusOK, obj, out)
}

// respondObject writes one object, as a Table when the client asked for one.
func (s *Server) respondObject(w http.ResponseWriter, st *store, code int, obj runtime.Object, out output) {
	obj.GetObjectKind().SetGroupVersionKind(st.res.gvk)
	if out.table {
		t, err := s.cfg.Tables(st.res.gvk.GroupKind(), []runtime.Object{obj}, s.cfg.Now(), out.includeObject, false)
		if err != nil {
			writeError(w, apierrors.NewInternalError(err))
			return
		}
		m, _ := meta.Accessor(obj)
		t.ResourceVersion = m.GetResourceVersion()
		writeObject(w, code, t, out)
		return
	}
	if out.metadata {
		writeObject(w, code, partial(obj), out)
		return
	}
	writeObject(w, code, obj, out)
}

func isDryRun(r *http.Request) bool {
	for _, v := range r.URL.Query()["dryRun"] {
		if v == "All" {
			return true
		}
	}
	return false
}

func (s *Server) checkDryRun(r *http.Request) error {
	for _, v := range r.URL.Query()["dryRun"] {
		if v != "All" {
			return apierrors.NewBadRequest(`dryRun must be "All"`)
		}
	}
	return nil
}

func fieldValidation(r *http.Request) string { return r.URL.Query().Get("fieldValidation") }

func writeWarnings(w http.ResponseWriter, warnings []string) {
	for _, msg := range warnings {
		w.Header().Add("Warning", `299 - "`+escapeWarning(msg)+`"`)
	}
}

func escapeWarning(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

func (s *Server) createObject(w http.ResponseWriter, r *http.Request, st *store, ri requestInfo) {
	out, err := negotiate(r)
	if err == nil {
		err = s.checkDryRun(r)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	body, err := s.readBody(r)
	if err != nil {
		writeError(w, err)
		return
	}
	obj, warnings, err := s.codec.decodeBody(body, r.Header.Get("Content-Type"), st.res.gvk, fieldValidation(r))
	if err == nil {
		err = apply.ValidateWriteOptions("CreateOptions", r.URL.Query().Get("fieldManager"))
	}
	if err != nil {
		writeError(w, err)
		return
	}
	created, err := s.create(r.Context(), st, ri.namespace, obj, isDryRun(r), managerOf(r))
	if err != nil {
		writeError(w, err)
		return
	}
	writeWarnings(w, warnings)
	s.respondObject(w, st, http.StatusCreated, created, out)
}

// create runs a new object through defaulting, admission and validation and stores it.
// manager records the write in managedFields; "" when an apply patch already did.
func (s *Server) create(ctx context.Context, st *store, ns string, obj runtime.Object, dryRun bool, manager string) (runtime.Object, error) {
	res := st.res
	if err := s.prepareCreate(res, obj, ns); err != nil {
		return nil, err
	}
	prepareForCreate(res, obj)
	s.cfg.Defaulter(obj, nil)
	if manager != "" {
		obj, _ = s.fields.Update(nil, obj, res.gvk, manager)
	}
	m, _ := meta.Accessor(obj)
	attrs := &admission.Attributes{
		Operation: admission.Create, Resource: res.gvr(), Kind: res.gvk, Namespace: m.GetNamespace(),
		Name: m.GetName(), Object: obj, User: auth.UserFrom(ctx), DryRun: dryRun,
	}
	if err := s.admit(ctx, attrs); err != nil {
		return nil, err
	}
	if m.GetName() == "" {
		return nil, invalid(res, obj, field.ErrorList{field.Required(field.NewPath("metadata", "name"), "name or generateName is required")})
	}
	if errs := s.cfg.Validator.ValidateCreate(obj); len(errs) > 0 {
		return nil, invalid(res, obj, errs)
	}
	if err := s.validate(ctx, attrs); err != nil {
		return nil, err
	}
	if dryRun {
		return obj, nil
	}
	undo, err := s.beforeCreate(ctx, res, obj)
	if err != nil {
		return nil, err
	}
	created, err := st.create(ctx, obj)
	for i := 0; i < 3 && apierrors.IsAlreadyExists(err) && m.GetGenerateName() != ""; i++ {
		m.SetName(m.GetGenerateName() + randomSuffix())
		created, err = st.create(ctx, obj)
	}
	if err != nil {
		undo()
		return nil, err
	}
	return created, nil
}

func (s *Server) admit(ctx context.Context, a *admission.Attributes) error {
	for _, p := range s.cfg.Mutating {
		if err := p.Admit(ctx, a); err != nil {
			return admissionError(err)
		}
	}
	return nil
}

func (s *Server) validate(ctx context.Context, a *admission.Attributes) error {
	if err := s.namespaceLifecycle(ctx, a); err != nil {
		return err
	}
	for _, p := range s.cfg.Validating {
		if err := p.Validate(ctx, a); err != nil {
			return admissionError(err)
		}
	}
	return nil
}

func admissionError(err error) error {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return err
	}
	return apierrors.NewForbidden(schemaGroupResourceNone, "", err)
}

func (s *Server) updateObject(w http.ResponseWriter, r *http.Request, st *store, ri requestInfo, sub string) {
	out, err := negotiate(r)
	if err == nil {
		err = s.checkDryRun(r)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	body, err := s.readBody(r)
	if err != nil {
		writeError(w, err)
		return
	}
	obj, warnings, err := s.codec.decodeBody(body, r.Header.Get("Content-Type"), st.res.gvk, fieldValidation(r))
	if err == nil {
		err = apply.ValidateWriteOptions("UpdateOptions", r.URL.Query().Get("fieldManager"))
	}
	if err != nil {
		writeError(w, err)
		return
	}
	ri.manager = managerOf(r)
	updated, err := s.update(r.Context(), st, ri, sub, isDryRun(r), func(cur runtime.Object) (runtime.Object, error) {
		return obj.DeepCopyObject(), nil
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeWarnings(w, warnings)
	s.respondObject(w, st, http.StatusOK, updated, out)
}

// update replaces the object with what newObj computes from the stored one, for the main
// resource (sub "") or its status or finalize subresource, retrying on concurrent writes.
func (s *Server) update(ctx context.Context, st *store, ri requestInfo, sub string, dryRun bool, newObj func(cur runtime.Object) (runtime.Object, error)) (runtime.Object, error) {
	var result runtime.Object
	obj, deleted, err := st.guaranteedUpdate(ctx, ri.namespace, ri.name, func(cur runtime.Object) (runtime.Object, error) {
		in, err := newObj(cur)
		if err != nil {
			return nil, err
		}
		next, err := s.prepareNext(ctx, st, ri, sub, in, cur)
		if err != nil {
			return nil, err
		}
		if dryRun {
			result = next
			return nil, errDryRun
		}
		return next, nil
	})
	switch {
	case errors.Is(err, errDryRun):
		return result, nil
	case err != nil:
		return nil, err
	case deleted:
		s.afterDelete(ctx, st.res, obj)
	}
	return obj, nil
}

// prepareNext computes and checks the object an update stores; nil means the update removed the
// last finalizer of an object being deleted, so it goes.
func (s *Server) prepareNext(ctx context.Context, st *store, ri requestInfo, sub string, in, cur runtime.Object) (runtime.Object, error) {
	res := st.res
	if err := checkUpdateMeta(res, in, cur, ri.namespace, ri.name); err != nil {
		return nil, err
	}
	curMeta, _ := meta.Accessor(cur)
	curRev, _ := strconv.ParseInt(curMeta.GetResourceVersion(), 10, 64)
	if err := checkResourceVersion(res, in, curRev); err != nil {
		return nil, err
	}
	next := mergeSubresource(res, sub, in, cur)
	prepareUpdate(next, cur)
	if sub == "" {
		s.cfg.Defaulter(next, cur)
	}
	bumpGeneration(next, cur)
	if ri.manager != "" && !ri.applied {
		next, _ = s.fields.UpdateSubresource(cur, next, res.gvk, sub, ri.manager)
	}
	m, _ := meta.Accessor(next)
	attrs := &admission.Attributes{
		Operation: admission.Update, Resource: res.gvr(), Kind: res.gvk, Subresource: sub,
		Namespace: m.GetNamespace(), Name: m.GetName(), Object: next, OldObject: cur, User: auth.UserFrom(ctx),
	}
	if err := s.admit(ctx, attrs); err != nil {
		return nil, err
	}
	var errs field.ErrorList
	switch sub {
	case "":
		errs = s.cfg.Validator.ValidateUpdate(next, cur)
	case "binding":
		// Assigning spec.nodeName is what a binding is for; bind() checks it.
	default:
		errs = s.cfg.Validator.ValidateStatusUpdate(next, cur)
	}
	if len(errs) > 0 {
		return nil, invalid(res, next, errs)
	}
	if err := s.validate(ctx, attrs); err != nil {
		return nil, err
	}
	if err := s.beforeUpdate(ctx, res, next, cur); err != nil {
		return nil, err
	}
	if readyToGo(res, next) {
		return nil, nil
	}
	return next, nil
}

// mergeSubresource decides which parts of the incoming object a write may change: the main
// resource keeps the stored status, the status subresource changes only status, finalize only
// a namespace's spec.finalizers.
func mergeSubresource(res *resource, sub string, in, cur runtime.Object) runtime.Object {
	switch sub {
	case "status":
		next := cur.DeepCopyObject()
		copyStatus(next, in)
		copyMetaForStatus(next, in)
		return next
	case "finalize":
		next := cur.DeepCopyObject()
		copyFinalizeSpec(next, in)
		return next
	case "binding", "scale":
		return in
	}
	next := in
	if res.status {
		copyStatus(next, cur)
	}
	return next
}

// copyMetaForStatus keeps the resourceVersion the client sent (for the precondition) on a status
// write, which otherwise takes the stored metadata.
func copyMetaForStatus(next, in runtime.Object) {
	n, _ := meta.Accessor(next)
	i, _ := meta.Accessor(in)
	n.SetResourceVersion(i.GetResourceVersion())
}

// readyToGo: an object being deleted whose finalizers are all gone, and which has no grace period
// left to honour, is removed.
func readyToGo(res *resource, obj runtime.Object) bool {
	m, _ := meta.Accessor(obj)
	if m.GetDeletionTimestamp() == nil || len(m.GetFinalizers()) > 0 {
		return false
	}
	if g := m.GetDeletionGracePeriodSeconds(); g != nil && *g > 0 {
		return false
	}
	return !namespaceHasSpecFinalizers(res, obj)
}
