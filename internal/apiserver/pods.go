package apiserver

import (
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
	cur, _, err := st.get(r.Context(), ri.namespace, ri.name)
	if err != nil {
		writeError(w, err)
		return
	}
	pod := cur.(*corev1.Pod)
	if err := s.checkDisruptionBudgets(r, pod); err != nil {
		writeError(w, err)
		return
	}
	opts := ev.DeleteOptions
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	if isDryRun(r) {
		opts.DryRun = []string{"All"}
	}
	if _, _, err := s.delete(r.Context(), st, ri.namespace, ri.name, opts); err != nil {
		writeError(w, err)
		return
	}
	writeObject(w, http.StatusCreated, &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess, Code: http.StatusCreated}, output{})
}

// checkDisruptionBudgets refuses an eviction that would take a budget below what it allows. A
// pod that is not running (pending, finished) can always be evicted.
func (s *Server) checkDisruptionBudgets(r *http.Request, pod *corev1.Pod) error {
	if pod.Status.Phase != corev1.PodRunning || pod.DeletionTimestamp != nil {
		return nil
	}
	pdbs := s.stores[policy.WithResource("poddisruptionbudgets")]
	entries, _, err := s.consistentSnapshot(r.Context(), pdbs, pod.Namespace, selectors{labels: labels.Everything(), fields: fields.Everything()})
	if err != nil {
		return err
	}
	for _, e := range entries {
		pdb := e.Obj.(*policyv1.PodDisruptionBudget)
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		if pdb.Status.ObservedGeneration < pdb.Generation || pdb.Status.DisruptionsAllowed <= 0 {
			return tooManyRequests(fmt.Sprintf("Cannot evict pod as it would violate the pod's disruption budget. The disruption budget %s needs %d healthy pods and has %d currently", pdb.Name, pdb.Status.DesiredHealthy, pdb.Status.CurrentHealthy))
		}
	}
	return nil
}

func tooManyRequests(msg string) error {
	err := apierrors.NewTooManyRequests(msg, 10)
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: policyv1.DisruptionBudgetCause, Message: msg})
	return err
}
