package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var schemaGroupResourceNone = schema.GroupResource{}

func secondsDuration(n int64) time.Duration { return time.Duration(n) * time.Second }

// errUnchanged: the delete found the object already being deleted with nothing to change.
var errUnchanged = errors.New("unchanged")

// deleteOptions reads DeleteOptions from the body (when present) and the query.
func (s *Server) deleteOptions(r *http.Request) (*metav1.DeleteOptions, error) {
	opts := &metav1.DeleteOptions{}
	body, err := s.readBody(r)
	if err != nil {
		return nil, err
	}
	if len(body) > 0 {
		if err := s.codec.decodeOptions(body, r.Header.Get("Content-Type"), opts); err != nil {
			return nil, err
		}
	}
	q := r.URL.Query()
	if v := q.Get("gracePeriodSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid gracePeriodSeconds %q", v))
		}
		opts.GracePeriodSeconds = &n
	}
	if v := q.Get("propagationPolicy"); v != "" {
		p := metav1.DeletionPropagation(v)
		opts.PropagationPolicy = &p
	}
	if v := q.Get("orphanDependents"); v != "" {
		b := v == "true"
		opts.OrphanDependents = &b
	}
	opts.DryRun = append(opts.DryRun, q["dryRun"]...)
	for _, d := range opts.DryRun {
		if d != "All" {
			return nil, apierrors.NewBadRequest(`dryRun must be "All"`)
		}
	}
	if p := opts.PropagationPolicy; p != nil && *p != metav1.DeletePropagationOrphan && *p != metav1.DeletePropagationBackground && *p != metav1.DeletePropagationForeground {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("propagationPolicy: Unsupported value: %q", *p))
	}
	return opts, nil
}

func (s *Server) deleteObject(w http.ResponseWriter, r *http.Request, st *store, ri requestInfo) {
	out, err := negotiate(r)
	if err != nil {
		writeError(w, err)
		return
	}
	opts, err := s.deleteOptions(r)
	if err != nil {
		writeError(w, err)
		return
	}
	obj, deleted, err := s.delete(r.Context(), st, ri.namespace, ri.name, opts)
	if err != nil {
		writeError(w, err)
		return
	}
	if deleted && !st.res.returnDeleted {
		m, _ := meta.Accessor(obj)
		writeObject(w, http.StatusOK, successStatus(st.res, m), out)
		return
	}
	code := http.StatusOK
	if !deleted && opts.OrphanDependents != nil && !*opts.OrphanDependents {
		code = http.StatusAccepted
	}
	s.respondObject(w, st, code, obj, out)
}

// delete removes the object, or marks it for deletion when finalizers or a grace period hold it.
// deleted says whether it is gone.
func (s *Server) delete(ctx context.Context, st *store, ns, name string, opts *metav1.DeleteOptions) (runtime.Object, bool, error) {
	dryRun := len(opts.DryRun) > 0
	var result runtime.Object
	obj, deleted, err := st.guaranteedUpdate(ctx, ns, name, func(cur runtime.Object) (runtime.Object, error) {
		if err := checkPreconditions(st.res, cur, opts.Preconditions); err != nil {
			return nil, err
		}
		if err := s.admitDelete(ctx, st.res, cur, dryRun); err != nil {
			return nil, err
		}
		next, err := s.markDeleted(st.res, cur, opts)
		if err != nil {
			return nil, err
		}
		if dryRun {
			result = next
			if result == nil {
				result = cur
			}
			return nil, errDryRun
		}
		return next, nil
	})
	switch {
	case errors.Is(err, errDryRun):
		return result, false, nil
	case errors.Is(err, errUnchanged):
		cur, _, err := st.get(ctx, ns, name)
		return cur, false, err
	case err != nil:
		return nil, false, err
	case deleted:
		s.afterDelete(ctx, st.res, obj)
	}
	return obj, deleted, nil
}

func checkPreconditions(res *resource, cur runtime.Object, p *metav1.Preconditions) error {
	if p == nil {
		return nil
	}
	m, _ := meta.Accessor(cur)
	if p.UID != nil && *p.UID != m.GetUID() {
		return apierrors.NewConflict(res.gr(), m.GetName(), fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, m.GetUID()))
	}
	if p.ResourceVersion != nil && *p.ResourceVersion != m.GetResourceVersion() {
		return apierrors.NewConflict(res.gr(), m.GetName(), fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, m.GetResourceVersion()))
	}
	return nil
}

// markDeleted computes the object after a delete request: nil when it goes now, else a copy with
// deletionTimestamp (and the propagation policy's finalizer) set.
func (s *Server) markDeleted(res *resource, cur runtime.Object, opts *metav1.DeleteOptions) (runtime.Object, error) {
	next := cur.DeepCopyObject()
	m, _ := meta.Accessor(next)
	grace := gracePeriod(res, next, opts)
	if m.GetDeletionTimestamp() != nil {
		// Already being deleted: only a shorter grace period changes anything.
		old := m.GetDeletionGracePeriodSeconds()
		if old == nil || *old <= grace || opts.GracePeriodSeconds == nil {
			return nil, errUnchanged
		}
	}
	applyPropagation(m, opts)
	if grace == 0 && len(m.GetFinalizers()) == 0 && !namespaceHasSpecFinalizers(res, next) {
		return nil, nil
	}
	now := metav1.NewTime(s.cfg.Now().Add(secondsDuration(grace)).Truncate(1e9))
	m.SetDeletionTimestamp(&now)
	m.SetDeletionGracePeriodSeconds(&grace)
	if ns, ok := next.(*corev1.Namespace); ok {
		ns.Status.Phase = corev1.NamespaceTerminating
	}
	return next, nil
}

// gracePeriod is how long a deleted object lingers: pods bound to a node and still running get
// their termination grace period (or the request's); everything else goes at once.
func gracePeriod(res *resource, obj runtime.Object, opts *metav1.DeleteOptions) int64 {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return 0
	}
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return 0
	}
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = *pod.Spec.TerminationGracePeriodSeconds
	}
	if opts.GracePeriodSeconds != nil {
		grace = *opts.GracePeriodSeconds
	}
	if grace < 0 {
		grace = 1
	}
	return grace
}

func applyPropagation(m metav1.Object, opts *metav1.DeleteOptions) {
	policy := opts.PropagationPolicy
	if policy == nil && opts.OrphanDependents != nil && *opts.OrphanDependents {
		p := metav1.DeletePropagationOrphan
		policy = &p
	}
	if policy == nil {
		return
	}
	switch *policy {
	case metav1.DeletePropagationOrphan:
		addFinalizer(m, metav1.FinalizerOrphanDependents)
	case metav1.DeletePropagationForeground:
		addFinalizer(m, metav1.FinalizerDeleteDependents)
	}
}

func addFinalizer(m metav1.Object, f string) {
	for _, have := range m.GetFinalizers() {
		if have == f {
			return
		}
	}
	m.SetFinalizers(append(m.GetFinalizers(), f))
}

func (s *Server) deleteCollection(w http.ResponseWriter, r *http.Request, st *store, ri requestInfo) {
	out, err := negotiate(r)
	if err != nil {
		writeError(w, err)
		return
	}
	opts, err := s.deleteOptions(r)
	if err != nil {
		writeError(w, err)
		return
	}
	sel, err := parseSelectors(r, st.res)
	if err != nil {
		writeError(w, err)
		return
	}
	entries, _, err := s.consistentSnapshot(r.Context(), st, ri.namespace, sel)
	if err != nil {
		writeError(w, err)
		return
	}
	list := s.emptyList(st)
	var items []runtime.Object
	for _, e := range entries {
		m, _ := meta.Accessor(e.Obj)
		obj, _, err := s.delete(r.Context(), st, m.GetNamespace(), m.GetName(), opts)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			writeError(w, err)
			return
		}
		items = append(items, obj)
	}
	if err := meta.SetList(list, items); err != nil {
		writeError(w, apierrors.NewInternalError(err))
		return
	}
	writeObject(w, http.StatusOK, list, out)
}
