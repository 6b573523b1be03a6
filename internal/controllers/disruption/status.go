package disruption

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/klite/klite/internal/controller"
)

// DeletionTimeout is how long an entry in status.disruptedPods (written by the eviction
// subresource just before it deletes the pod) keeps the pod out of currentHealthy. A pod not
// seen being deleted by then is assumed to stay, and counts again.
const DeletionTimeout = 2 * time.Minute

// scaleFunc resolves the controller a pod's controllerRef names to the uid it is counted under
// (so several children count their controller once) and its desired replicas. found is false
// when the reference names no controller klite knows the scale of.
type scaleFunc func(namespace string, ref *metav1.OwnerReference) (uid types.UID, replicas int32, found bool)

// counts is the outcome of one pass over a budget's pods.
type counts struct {
	expected, desired, healthy int32
	disrupted                  map[string]metav1.Time
	unmanaged                  []string // pods with no controller, left out of expected
}

// expectedAndDesired computes how many pods a budget expects and how many must stay healthy.
// An integer minAvailable counts the matching pods; a percentage minAvailable or any
// maxUnavailable counts the replicas their controllers ask for, percentages rounded up.
func expectedAndDesired(spec *policyv1.PodDisruptionBudgetSpec, pods []*corev1.Pod, scale scaleFunc) (expected, desired int32, unmanaged []string, err error) {
	switch {
	case spec.MaxUnavailable != nil:
		if expected, unmanaged, err = expectedScale(pods, scale); err != nil {
			return 0, 0, nil, err
		}
		maxUnavailable, err := intstr.GetScaledValueFromIntOrPercent(spec.MaxUnavailable, int(expected), true)
		if err != nil {
			return 0, 0, nil, err
		}
		return expected, max(0, expected-int32(maxUnavailable)), unmanaged, nil
	case spec.MinAvailable != nil && spec.MinAvailable.Type == intstr.Int:
		return int32(len(pods)), spec.MinAvailable.IntVal, nil, nil
	case spec.MinAvailable != nil:
		if expected, unmanaged, err = expectedScale(pods, scale); err != nil {
			return 0, 0, nil, err
		}
		minAvailable, err := intstr.GetScaledValueFromIntOrPercent(spec.MinAvailable, int(expected), true)
		if err != nil {
			return 0, 0, nil, err
		}
		return expected, int32(minAvailable), unmanaged, nil
	}
	return 0, 0, nil, nil
}

// expectedScale sums the replicas of the pods' controllers, each controller once. Pods without a
// controller are returned as unmanaged; a controller whose scale is unknown is an error.
func expectedScale(pods []*corev1.Pod, scale scaleFunc) (int32, []string, error) {
	seen := map[types.UID]int32{}
	var unmanaged []string
	for _, p := range pods {
		ref := metav1.GetControllerOfNoCopy(p)
		if ref == nil {
			unmanaged = append(unmanaged, p.Name)
			continue
		}
		uid, replicas, found := scale(p.Namespace, ref)
		if !found {
			return 0, nil, fmt.Errorf("found no controllers for pod %q", p.Name)
		}
		seen[uid] = replicas
	}
	var sum int32
	for _, n := range seen {
		sum += n
	}
	return sum, unmanaged, nil
}

// stillDisrupted keeps the entries of status.disruptedPods whose pod still exists, is not being
// deleted and has not outlived DeletionTimeout; recheck is when the earliest kept entry expires
// (zero if none).
func stillDisrupted(old map[string]metav1.Time, pods []*corev1.Pod, now time.Time) (kept map[string]metav1.Time, recheck time.Time) {
	for _, p := range pods {
		at, ok := old[p.Name]
		if !ok || p.DeletionTimestamp != nil {
			continue
		}
		expires := at.Add(DeletionTimeout)
		if !expires.After(now) {
			continue
		}
		if kept == nil {
			kept = map[string]metav1.Time{}
		}
		kept[p.Name] = at
		if recheck.IsZero() || expires.Before(recheck) {
			recheck = expires
		}
	}
	return kept, recheck
}

// countHealthy counts the Ready pods that are neither being deleted nor about to be (listed in
// disrupted).
func countHealthy(pods []*corev1.Pod, disrupted map[string]metav1.Time) int32 {
	var n int32
	for _, p := range pods {
		if _, going := disrupted[p.Name]; going || p.DeletionTimestamp != nil {
			continue
		}
		if controller.IsPodReady(p) {
			n++
		}
	}
	return n
}

// newStatus is the status a budget should have given c. No disruption is allowed while it
// expects no pods, so that a budget whose first pods just appeared stays safe until recounted.
func newStatus(pdb *policyv1.PodDisruptionBudget, c counts, now time.Time) policyv1.PodDisruptionBudgetStatus {
	allowed := c.healthy - c.desired
	if c.expected <= 0 || allowed < 0 {
		allowed = 0
	}
	st := policyv1.PodDisruptionBudgetStatus{
		ObservedGeneration: pdb.Generation,
		DisruptedPods:      c.disrupted,
		DisruptionsAllowed: allowed,
		CurrentHealthy:     c.healthy,
		DesiredHealthy:     c.desired,
		ExpectedPods:       c.expected,
		Conditions:         append([]metav1.Condition(nil), pdb.Status.Conditions...),
	}
	setAllowedCondition(&st, now)
	return st
}

// failedStatus is the fail-safe status after a failed count: no disruption allowed, and the
// reason in the DisruptionAllowed condition.
func failedStatus(pdb *policyv1.PodDisruptionBudget, err error, now time.Time) policyv1.PodDisruptionBudgetStatus {
	st := *pdb.Status.DeepCopy()
	st.DisruptionsAllowed = 0
	apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse, Reason: policyv1.SyncFailedReason,
		Message: err.Error(), ObservedGeneration: st.ObservedGeneration, LastTransitionTime: metav1.NewTime(now),
	})
	return st
}

// setAllowedCondition sets the DisruptionAllowed condition from disruptionsAllowed.
func setAllowedCondition(st *policyv1.PodDisruptionBudgetStatus, now time.Time) {
	c := metav1.Condition{Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse,
		Reason: policyv1.InsufficientPodsReason, ObservedGeneration: st.ObservedGeneration, LastTransitionTime: metav1.NewTime(now)}
	if st.DisruptionsAllowed > 0 {
		c.Status, c.Reason = metav1.ConditionTrue, policyv1.SufficientPodsReason
	}
	apimeta.SetStatusCondition(&st.Conditions, c)
}

// sameStatus reports whether writing want over have would change nothing a reader looks at.
func sameStatus(have, want *policyv1.PodDisruptionBudgetStatus) bool {
	return have.ObservedGeneration == want.ObservedGeneration &&
		have.DisruptionsAllowed == want.DisruptionsAllowed &&
		have.CurrentHealthy == want.CurrentHealthy &&
		have.DesiredHealthy == want.DesiredHealthy &&
		have.ExpectedPods == want.ExpectedPods &&
		equality.Semantic.DeepEqual(have.DisruptedPods, want.DisruptedPods) &&
		sameConditions(have.Conditions, want.Conditions)
}

// sameConditions compares conditions ignoring their transition times, which SetStatusCondition
// keeps when nothing else changed.
func sameConditions(a, b []metav1.Condition) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Type != y.Type || x.Status != y.Status || x.Reason != y.Reason || x.Message != y.Message || x.ObservedGeneration != y.ObservedGeneration {
			return false
		}
	}
	return true
}
