package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// bind handles POST pods/<name>/binding: the scheduler's assignment of a pod to a node.
func (s *Server) bind(w http.ResponseWriter, r *http.Request, st *store, ri requestInfo) {
	body, err := s.readBody(r)
	if err != nil {
		writeError(w, err)
		return
	}
	obj, _, err := s.codec.decodeBody(body, r.Header.Get("Content-Type"), core.WithKind("Binding"), "Ignore")
	if err != nil {
		writeError(w, err)
		return
	}
	b := obj.(*corev1.Binding)
	if b.Name != "" && b.Name != ri.name {
		writeError(w, apierrors.NewBadRequest("name in URL does not match name in Binding object"))
		return
	}
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		writeError(w, apierrors.NewInvalid(schema.GroupKind{Kind: "Binding"}, b.Name, fieldErrs("target.kind", b.Target.Kind, "must be empty or 'Node'")))
		return
	}
	if b.Target.Name == "" {
		writeError(w, apierrors.NewInvalid(schema.GroupKind{Kind: "Binding"}, b.Name, fieldErrs("target.name", "", "must be set")))
		return
	}
	_, err = s.update(r.Context(), st, ri, "binding", isDryRun(r), func(cur runtime.Object) (runtime.Object, error) {
		pod := cur.DeepCopyObject().(*corev1.Pod)
		if pod.DeletionTimestamp != nil {
			return nil, apierrors.NewConflict(st.res.gr(), pod.Name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", pod.Name))
		}
		if pod.Spec.NodeName != "" {
			return nil, apierrors.NewConflict(st.res.gr(), pod.Name, fmt.Errorf("pod %s is already assigned to node %q", pod.Name, pod.Spec.NodeName))
		}
		if b.UID != "" && b.UID != pod.UID {
			return nil, apierrors.NewConflict(st.res.gr(), pod.Name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", b.UID, pod.UID))
		}
		pod.Spec.NodeName = b.Target.Name
		for k, v := range b.Annotations {
			if pod.Annotations == nil {
				pod.Annotations = map[string]string{}
			}
			pod.Annotations[k] = v
		}
		setPodCondition(&pod.Status, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(s.cfg.Now().Truncate(1e9))})
		pod.ResourceVersion = ""
		return pod, nil
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeObject(w, http.StatusCreated, &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess, Code: http.StatusCreated}, output{})
}

func setPodCondition(status *corev1.PodStatus, c corev1.PodCondition) {
	for i := range status.Conditions {
		if status.Conditions[i].Type == c.Type {
			if status.Conditions[i].Status == c.Status {
				return
			}
			status.Conditions[i] = c
			return
		}
	}
	status.Conditions = append(status.Conditions, c)
}

// evict handles POST pods/<name>/eviction: a delete that respects PodDisruptionBudgets.
func (s *Server) evict(w http.ResponseWriter, r *http.Request, st *store, ri requestInfo) {
	body, err := s.readBody(r)
	if err != nil {
		writeError(w, err)
		return
	}
	obj, _, err := s.codec.decodeBody(body, r.Header.Get("Content-Type"), policy.WithKind("Eviction"), "Ignore")
	if err != nil {
		writeError(w, err)
		return
	}
	ev := obj.(*policyv1.Eviction)
	if ev.Name != "" && ev.Name != ri.name {
		writeError(w, apierrors.NewBadRequest("name in URL does not match name in Eviction object"))
		return
	}
	opts := ev.DeleteOptions
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	if isDryRun(r) {
		opts.DryRun = []string{"All"}
	}
	if err := s.evictPod(r.Context(), st, ri, opts); err != nil {
		writeError(w, err)
		return
	}
	writeObject(w, http.StatusCreated, &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess, Code: http.StatusCreated}, output{})
}

// evictionAttempts bounds how often an eviction guarded by the pod's resourceVersion is decided
// anew after the pod changed under it.
const evictionAttempts = 3

// evictPod deletes the pod once its budget lets it. A deletion that takes nothing from a budget
// (a pending pod, an unready one while its budget is healthy) is conditional on the pod's
// resourceVersion, so the pod cannot become ready in between unnoticed: on a conflict the
// decision is taken again on the changed pod.
func (s *Server) evictPod(ctx context.Context, st *store, ri requestInfo, opts *metav1.DeleteOptions) error {
	for attempt := 1; ; attempt++ {
		cur, _, err := st.get(ctx, ri.namespace, ri.name)
		if err != nil {
			return err
		}
		pod := cur.(*corev1.Pod)
		guard, err := s.admitEviction(ctx, pod, len(opts.DryRun) > 0)
		if err != nil {
			return err
		}
		del := opts
		if guard && (opts.Preconditions == nil || opts.Preconditions.ResourceVersion == nil) {
			del = opts.DeepCopy()
			if del.Preconditions == nil {
				del.Preconditions = &metav1.Preconditions{}
			}
			del.Preconditions.ResourceVersion = &pod.ResourceVersion
		}
		_, _, err = s.delete(ctx, st, ri.namespace, ri.name, del)
		if del == opts || !apierrors.IsConflict(err) {
			return err
		}
		if attempt == evictionAttempts {
			return tooManyRequests("Cannot evict pod as it would violate the pod's disruption budget. The pod changed while it was being evicted.")
		}
	}
}

// admitEviction decides whether the pod may be evicted now, taking one disruption from its
// budget if it must; guard says the deletion must be conditional on the pod's resourceVersion.
// A pod that is finished or already being deleted goes freely.
func (s *Server) admitEviction(ctx context.Context, pod *corev1.Pod, dryRun bool) (guard bool, err error) {
	switch {
	case pod.DeletionTimestamp != nil, pod.Status.Phase == corev1.PodSucceeded, pod.Status.Phase == corev1.PodFailed:
		return false, nil
	case pod.Status.Phase == corev1.PodPending, pod.Status.Phase == "":
		return true, nil
	}
	pdbs, err := s.podBudgets(ctx, pod)
	switch {
	case err != nil:
		return false, err
	case len(pdbs) == 0:
		return false, nil
	case len(pdbs) > 1:
		return false, &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError,
			Message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."}}
	}
	if !podReady(pod) && unhealthyMayGo(pdbs[0]) {
		return true, nil
	}
	return false, s.takeDisruption(ctx, pdbs[0], pod.Name, dryRun)
}

// podBudgets lists the PodDisruptionBudgets whose selector matches the pod (policy/v1: an
// empty selector matches every pod of the namespace, a missing one none).
func (s *Server) podBudgets(ctx context.Context, pod *corev1.Pod) ([]*policyv1.PodDisruptionBudget, error) {
	pdbs := s.stores[policy.WithResource("poddisruptionbudgets")]
	entries, _, err := s.consistentSnapshot(ctx, pdbs, pod.Namespace, selectors{labels: labels.Everything(), fields: fields.Everything()})
	if err != nil {
		return nil, err
	}
	var out []*policyv1.PodDisruptionBudget
	for _, e := range entries {
		pdb := e.Obj.(*policyv1.PodDisruptionBudget)
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err == nil && sel.Matches(labels.Set(pod.Labels)) {
			out = append(out, pdb)
		}
	}
	return out, nil
}

// unhealthyMayGo says an unready pod may be evicted without taking from its budget: always
// under the AlwaysAllow policy, else (IfHealthyBudget) while the budget has the healthy pods it
// needs, which the unready pod is not one of.
func unhealthyMayGo(pdb *policyv1.PodDisruptionBudget) bool {
	if p := pdb.Spec.UnhealthyPodEvictionPolicy; p != nil && *p == policyv1.AlwaysAllow {
		return true
	}
	return pdb.Status.DesiredHealthy > 0 && pdb.Status.CurrentHealthy >= pdb.Status.DesiredHealthy
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// maxDisruptedPods bounds status.disruptedPods: past it the disruption controller is not
// keeping up, and evictions are refused.
const maxDisruptedPods = 2000

// takeDisruption records an eviction of pod in its budget's status, in one write conditional on
// the budget's resourceVersion (recomputed on a concurrent change): disruptionsAllowed goes down
// by one and the pod goes into disruptedPods, which keeps the disruption controller from
// counting it healthy until it is deleted. It refuses with 429 when the budget allows nothing.
// A dry run checks without writing.
func (s *Server) takeDisruption(ctx context.Context, pdb *policyv1.PodDisruptionBudget, pod string, dryRun bool) error {
	st := s.stores[policy.WithResource("poddisruptionbudgets")]
	ri := requestInfo{group: policy.Group, version: policy.Version, namespace: pdb.Namespace, resource: "poddisruptionbudgets",
		name: pdb.Name, subresource: "status", verb: "update"}
	_, err := s.update(ctx, st, ri, "status", dryRun, func(cur runtime.Object) (runtime.Object, error) {
		next := cur.(*policyv1.PodDisruptionBudget).DeepCopy()
		if err := budgetAllows(next); err != nil {
			return nil, err
		}
		now := metav1.NewTime(s.cfg.Now().Truncate(time.Second))
		next.Status.DisruptionsAllowed--
		if next.Status.DisruptionsAllowed == 0 {
			apimeta.SetStatusCondition(&next.Status.Conditions, metav1.Condition{Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse,
				Reason: policyv1.InsufficientPodsReason, ObservedGeneration: next.Status.ObservedGeneration, LastTransitionTime: now})
		}
		if next.Status.DisruptedPods == nil {
			next.Status.DisruptedPods = map[string]metav1.Time{}
		}
		next.Status.DisruptedPods[pod] = now
		return next, nil
	})
	return err
}

// budgetAllows refuses an eviction the budget's status does not allow (yet).
func budgetAllows(pdb *policyv1.PodDisruptionBudget) error {
	const refused = "Cannot evict pod as it would violate the pod's disruption budget."
	st := pdb.Status
	switch {
	case st.ObservedGeneration < pdb.Generation:
		return tooManyRequests(fmt.Sprintf("%s The disruption budget %s is still being processed by the server.", refused, pdb.Name))
	case st.DisruptionsAllowed < 0:
		return budgetForbidden(pdb, "pdb disruptions allowed is negative")
	case len(st.DisruptedPods) > maxDisruptedPods:
		return budgetForbidden(pdb, "too many pending evictions not confirmed by PDB controller")
	case st.DisruptionsAllowed > 0:
		return nil
	}
	c := apimeta.FindStatusCondition(st.Conditions, policyv1.DisruptionAllowedCondition)
	switch {
	case c != nil && c.Status == metav1.ConditionFalse && c.Reason == policyv1.SyncFailedReason && c.Message != "":
		return tooManyRequests(fmt.Sprintf("%s The disruption budget %s does not allow evicting pods currently because it failed sync: %s", refused, pdb.Name, c.Message))
	case st.CurrentHealthy <= st.DesiredHealthy:
		return tooManyRequests(fmt.Sprintf("%s The disruption budget %s needs %d healthy pods and has %d currently", refused, pdb.Name, st.DesiredHealthy, st.CurrentHealthy))
	}
	return tooManyRequests(fmt.Sprintf("%s The disruption budget %s does not allow evicting pods currently", refused, pdb.Name))
}

func budgetForbidden(pdb *policyv1.PodDisruptionBudget, why string) error {
	err := apierrors.NewForbidden(policy.WithResource("poddisruptionbudget").GroupResource(), pdb.Name, errors.New(why))
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: policyv1.DisruptionBudgetCause,
		Message: fmt.Sprintf("The disruption budget %s does not allow evicting pods currently: %s", pdb.Name, why)})
	return err
}

func tooManyRequests(msg string) error {
	err := apierrors.NewTooManyRequests(msg, 10)
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: policyv1.DisruptionBudgetCause, Message: msg})
	return err
}
