package disruption

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// podFixture builds a pod for the pure counting functions.
type podFixture struct{ p *corev1.Pod }

func mkPod(name string) *podFixture {
	return &podFixture{&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}}}
}

func (f *podFixture) ownedBy(kind, name string) *podFixture {
	yes := true
	f.p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: name, UID: types.UID(name), Controller: &yes}}
	return f
}

func (f *podFixture) ready() *podFixture {
	f.p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	return f
}

func (f *podFixture) deleting() *podFixture {
	now := metav1.Now()
	f.p.DeletionTimestamp = &now
	return f
}

func (f *podFixture) obj() *corev1.Pod { return f.p }

// scales is a scaleFunc over a fixed table of controller name → replicas.
func scales(m map[string]int32) scaleFunc {
	return func(_ string, ref *metav1.OwnerReference) (types.UID, int32, bool) {
		n, ok := m[ref.Name]
		return ref.UID, n, ok
	}
}

func TestExpectedAndDesired(t *testing.T) {
	intOr := func(v intstr.IntOrString) *intstr.IntOrString { return &v }
	three := []*corev1.Pod{mkPod("a").ownedBy("ReplicaSet", "rs").obj(), mkPod("b").ownedBy("ReplicaSet", "rs").obj(), mkPod("c").ownedBy("StatefulSet", "ss").obj()}
	tests := []struct {
		name              string
		spec              policyv1.PodDisruptionBudgetSpec
		pods              []*corev1.Pod
		scale             map[string]int32
		expected, desired int32
		unmanaged         []string
		wantErr           bool
	}{
		{name: "minAvailable int counts matching pods", spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: intOr(intstr.FromInt32(2))},
			pods: []*corev1.Pod{mkPod("a").obj(), mkPod("b").obj()}, expected: 2, desired: 2},
		{name: "minAvailable percent of controllers' replicas, rounded up", spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: intOr(intstr.FromString("50%"))},
			pods: three, scale: map[string]int32{"rs": 4, "ss": 1}, expected: 5, desired: 3},
		{name: "maxUnavailable int", spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: intOr(intstr.FromInt32(1))},
			pods: three, scale: map[string]int32{"rs": 2, "ss": 1}, expected: 3, desired: 2},
		{name: "maxUnavailable percent rounded up", spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: intOr(intstr.FromString("30%"))},
			pods: three, scale: map[string]int32{"rs": 3, "ss": 1}, expected: 4, desired: 2},
		{name: "maxUnavailable above expected floors at zero", spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: intOr(intstr.FromInt32(9))},
			pods: three, scale: map[string]int32{"rs": 2, "ss": 1}, expected: 3, desired: 0},
		{name: "pods without a controller are left out", spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: intOr(intstr.FromInt32(1))},
			pods: append([]*corev1.Pod{mkPod("bare").obj()}, three[:2]...), scale: map[string]int32{"rs": 2}, expected: 2, desired: 1, unmanaged: []string{"bare"}},
		{name: "unknown controller fails", spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: intOr(intstr.FromInt32(1))},
			pods: three, scale: map[string]int32{"rs": 2}, wantErr: true},
		{name: "neither bound expects nothing", pods: three},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expected, desired, unmanaged, err := expectedAndDesired(&tt.spec, tt.pods, scales(tt.scale))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if expected != tt.expected || desired != tt.desired || !reflect.DeepEqual(unmanaged, tt.unmanaged) {
				t.Fatalf("got expected %d desired %d unmanaged %v, want %d %d %v", expected, desired, unmanaged, tt.expected, tt.desired, tt.unmanaged)
			}
		})
	}
}

func TestDisruptedPodsAndHealth(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(ago time.Duration) metav1.Time { return metav1.NewTime(now.Add(-ago)) }
	pods := []*corev1.Pod{
		mkPod("ready").ready().obj(),
		mkPod("unready").obj(),
		mkPod("deleting").ready().deleting().obj(),
		mkPod("evicted").ready().obj(),
		mkPod("stale").ready().obj(),
	}
	old := map[string]metav1.Time{
		"evicted":  at(30 * time.Second),
		"stale":    at(DeletionTimeout + time.Second),
		"deleting": at(time.Second),
		"gone":     at(time.Second),
	}
	kept, recheck := stillDisrupted(old, pods, now)
	if want := map[string]metav1.Time{"evicted": old["evicted"]}; !reflect.DeepEqual(kept, want) {
		t.Fatalf("kept %v, want only the recent entry of a pod not yet deleting", kept)
	}
	if want := old["evicted"].Add(DeletionTimeout); !recheck.Equal(want) {
		t.Fatalf("recheck at %v, want %v", recheck, want)
	}
	// ready and stale count; unready, deleting and evicted do not.
	if got := countHealthy(pods, kept); got != 2 {
		t.Fatalf("currentHealthy %d, want 2", got)
	}
}

func TestNewStatus(t *testing.T) {
	now := time.Now()
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Generation: 3}}
	tests := []struct {
		name    string
		c       counts
		allowed int32
		cond    metav1.ConditionStatus
		reason  string
	}{
		{name: "spare healthy pods", c: counts{expected: 3, desired: 1, healthy: 3}, allowed: 2, cond: metav1.ConditionTrue, reason: policyv1.SufficientPodsReason},
		{name: "exactly enough", c: counts{expected: 3, desired: 3, healthy: 3}, cond: metav1.ConditionFalse, reason: policyv1.InsufficientPodsReason},
		{name: "too few never negative", c: counts{expected: 3, desired: 3, healthy: 1}, cond: metav1.ConditionFalse, reason: policyv1.InsufficientPodsReason},
		{name: "nothing expected allows nothing", c: counts{healthy: 2}, cond: metav1.ConditionFalse, reason: policyv1.InsufficientPodsReason},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStatus(pdb, tt.c, now)
			if st.DisruptionsAllowed != tt.allowed || st.ObservedGeneration != 3 {
				t.Fatalf("allowed %d observedGeneration %d, want %d 3", st.DisruptionsAllowed, st.ObservedGeneration, tt.allowed)
			}
			if len(st.Conditions) != 1 || st.Conditions[0].Status != tt.cond || st.Conditions[0].Reason != tt.reason {
				t.Fatalf("conditions %+v, want %s/%s", st.Conditions, tt.cond, tt.reason)
			}
			again := *pdb.DeepCopy()
			again.Status = st
			if next := newStatus(&again, tt.c, now.Add(time.Minute)); !sameStatus(&st, &next) {
				t.Fatalf("recounting the same pods changed the status: %+v → %+v", st, next)
			}
		})
	}
}
