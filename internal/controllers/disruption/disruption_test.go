package disruption

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"

	"github.com/klite/klite/internal/controller/controllertest"
)

var env *controllertest.Env

func TestMain(m *testing.M) { controllertest.Main(m, &env) }

// startController runs a disruption controller until the end of the test.
func startController(t *testing.T) {
	t.Helper()
	f := env.Factory()
	c, err := New(Config{Client: env.Client, PodDisruptionBudgets: f.Policy().V1().PodDisruptionBudgets(), Pods: f.Core().V1().Pods(),
		ReplicationControllers: f.Core().V1().ReplicationControllers(), ReplicaSets: f.Apps().V1().ReplicaSets(),
		Deployments: f.Apps().V1().Deployments(), StatefulSets: f.Apps().V1().StatefulSets(), Recorder: env.Recorder(t, "disruption-controller")})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Run(t, f, c)
}

// mkPods creates n running pods named <prefix>-<i> with the labels and controller owner given,
// Ready or not.
func mkPods(t *testing.T, ns, prefix string, n int, ready bool, lbls map[string]string, owner *metav1.OwnerReference) []*corev1.Pod {
	t.Helper()
	var out []*corev1.Pod
	for i := range n {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", prefix, i), Labels: lbls},
			Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "x"}}}}
		if owner != nil {
			p.OwnerReferences = []metav1.OwnerReference{*owner}
		}
		created, err := env.Client.CoreV1().Pods(ns).Create(context.Background(), p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		env.MarkPodRunning(t, created, ready, fmt.Sprintf("10.244.0.%d", i+1))
		out = append(out, created)
	}
	return out
}

// setReady flips the Ready condition of a running pod, as its kubelet would.
func setReady(t *testing.T, pod *corev1.Pod, ready bool) {
	t.Helper()
	cur, err := env.Client.CoreV1().Pods(pod.Namespace).Get(context.Background(), pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	env.MarkPodRunning(t, cur, ready, cur.Status.PodIP)
}

// controllerRef is the controller ownerReference naming obj.
func controllerRef(obj runtime.Object, apiVersion, kind string) *metav1.OwnerReference {
	m, _ := apimeta.Accessor(obj)
	yes := true
	return &metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: m.GetName(), UID: m.GetUID(), Controller: &yes}
}

func mkPDB(t *testing.T, ns, name string, spec policyv1.PodDisruptionBudgetSpec) {
	t.Helper()
	_, err := env.Client.PolicyV1().PodDisruptionBudgets(ns).Create(context.Background(),
		&policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// wantStatus is what a user reads in `kubectl get pdb -o yaml`.
type wantStatus struct {
	expected, desired, current, allowed int32
	reason                              string // of the DisruptionAllowed condition
	disrupted                           []string
}

// waitStatus waits until the budget's status is want, with observedGeneration caught up.
func waitStatus(t *testing.T, ns, name string, want wantStatus) *policyv1.PodDisruptionBudget {
	t.Helper()
	var pdb *policyv1.PodDisruptionBudget
	controllertest.Eventually(t, 15*time.Second, func() (bool, string) {
		var err error
		pdb, err = env.Client.PolicyV1().PodDisruptionBudgets(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		got := statusOf(pdb)
		return pdb.Status.ObservedGeneration == pdb.Generation && fmt.Sprint(got) == fmt.Sprint(want),
			fmt.Sprintf("status %+v (generation %d, observed %d), want %+v", got, pdb.Generation, pdb.Status.ObservedGeneration, want)
	})
	return pdb
}

func statusOf(pdb *policyv1.PodDisruptionBudget) wantStatus {
	s := pdb.Status
	got := wantStatus{expected: s.ExpectedPods, desired: s.DesiredHealthy, current: s.CurrentHealthy, allowed: s.DisruptionsAllowed}
	if c := apimeta.FindStatusCondition(s.Conditions, policyv1.DisruptionAllowedCondition); c != nil {
		got.reason = c.Reason
	}
	for name := range s.DisruptedPods {
		got.disrupted = append(got.disrupted, name)
	}
	slices.Sort(got.disrupted)
	return got
}

func intOr(v intstr.IntOrString) *intstr.IntOrString { return &v }

func selector(kv ...string) *metav1.LabelSelector {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return &metav1.LabelSelector{MatchLabels: m}
}

func TestDisruptionMinAvailableFollowsPodReadiness(t *testing.T) {
	ns := env.Namespace(t)
	startController(t)
	web := map[string]string{"app": "web"}
	pods := mkPods(t, ns, "web", 3, true, web, nil)
	mkPods(t, ns, "other", 1, true, map[string]string{"app": "other"}, nil)
	mkPDB(t, ns, "web", policyv1.PodDisruptionBudgetSpec{MinAvailable: intOr(intstr.FromInt32(2)), Selector: selector("app", "web")})
	pdb := waitStatus(t, ns, "web", wantStatus{expected: 3, desired: 2, current: 3, allowed: 1, reason: policyv1.SufficientPodsReason})
	if c := apimeta.FindStatusCondition(pdb.Status.Conditions, policyv1.DisruptionAllowedCondition); c.Status != metav1.ConditionTrue {
		t.Fatalf("condition %+v, want True", c)
	}

	setReady(t, pods[0], false)
	waitStatus(t, ns, "web", wantStatus{expected: 3, desired: 2, current: 2, allowed: 0, reason: policyv1.InsufficientPodsReason})

	if err := env.Client.CoreV1().Pods(ns).Delete(context.Background(), pods[1].Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ns, "web", wantStatus{expected: 2, desired: 2, current: 1, allowed: 0, reason: policyv1.InsufficientPodsReason})
}

func TestDisruptionSelectors(t *testing.T) {
	ns := env.Namespace(t)
	startController(t)
	mkPods(t, ns, "a", 2, true, map[string]string{"app": "a"}, nil)
	mkPods(t, ns, "b", 1, true, map[string]string{"app": "b"}, nil)
	mkPDB(t, ns, "everything", policyv1.PodDisruptionBudgetSpec{MinAvailable: intOr(intstr.FromInt32(1)), Selector: &metav1.LabelSelector{}})
	mkPDB(t, ns, "nothing", policyv1.PodDisruptionBudgetSpec{MinAvailable: intOr(intstr.FromInt32(0))})
	waitStatus(t, ns, "everything", wantStatus{expected: 3, desired: 1, current: 3, allowed: 2, reason: policyv1.SufficientPodsReason})
	waitStatus(t, ns, "nothing", wantStatus{reason: policyv1.InsufficientPodsReason})
}

func TestDisruptionCountsControllersReplicas(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, ns string, lbls map[string]string)
		spec  policyv1.PodDisruptionBudgetSpec
		want  wantStatus
	}{
		{
			name: "maxUnavailable percent of a replicaset",
			setup: func(t *testing.T, ns string, lbls map[string]string) {
				rs := mkReplicaSet(t, ns, "rs", 4, lbls, nil)
				mkPods(t, ns, "rs", 4, true, lbls, controllerRef(rs, "apps/v1", "ReplicaSet"))
			},
			// 30% of 4, rounded up, may be unavailable: 2 must stay.
			spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: intOr(intstr.FromString("30%"))},
			want: wantStatus{expected: 4, desired: 2, current: 4, allowed: 2, reason: policyv1.SufficientPodsReason},
		},
		{
			name: "a deployment's old and new sets count the deployment once",
			setup: func(t *testing.T, ns string, lbls map[string]string) {
				d := mkDeployment(t, ns, "web", 3, lbls)
				dref := controllerRef(d, "apps/v1", "Deployment")
				old := mkReplicaSet(t, ns, "web-old", 1, lbls, dref)
				cur := mkReplicaSet(t, ns, "web-new", 3, lbls, dref)
				mkPods(t, ns, "old", 1, true, lbls, controllerRef(old, "apps/v1", "ReplicaSet"))
				mkPods(t, ns, "new", 2, true, lbls, controllerRef(cur, "apps/v1", "ReplicaSet"))
			},
			spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: intOr(intstr.FromString("50%"))},
			want: wantStatus{expected: 3, desired: 2, current: 3, allowed: 1, reason: policyv1.SufficientPodsReason},
		},
		{
			name: "statefulset and replication controller add up",
			setup: func(t *testing.T, ns string, lbls map[string]string) {
				ss := mkStatefulSet(t, ns, "db", 2, lbls)
				mkPods(t, ns, "db", 2, true, lbls, controllerRef(ss, "apps/v1", "StatefulSet"))
				rc := mkReplicationController(t, ns, "legacy", 3, lbls)
				mkPods(t, ns, "legacy", 3, false, lbls, controllerRef(rc, "v1", "ReplicationController"))
			},
			spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: intOr(intstr.FromInt32(1))},
			want: wantStatus{expected: 5, desired: 4, current: 2, allowed: 0, reason: policyv1.InsufficientPodsReason},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := env.Namespace(t)
			startController(t)
			lbls := map[string]string{"app": "x"}
			tt.setup(t, ns, lbls)
			tt.spec.Selector = selector("app", "x")
			mkPDB(t, ns, "budget", tt.spec)
			waitStatus(t, ns, "budget", tt.want)
		})
	}
}

func TestDisruptionUnknownControllerFailsSafe(t *testing.T) {
	ns := env.Namespace(t)
	startController(t)
	rs := mkReplicaSet(t, ns, "rs", 2, map[string]string{"app": "x"}, nil)
	mkPods(t, ns, "rs", 2, true, map[string]string{"app": "x"}, controllerRef(rs, "apps/v1", "ReplicaSet"))
	mkPDB(t, ns, "budget", policyv1.PodDisruptionBudgetSpec{MaxUnavailable: intOr(intstr.FromInt32(1)), Selector: selector("app", "x")})
	waitStatus(t, ns, "budget", wantStatus{expected: 2, desired: 1, current: 2, allowed: 1, reason: policyv1.SufficientPodsReason})

	yes := true
	mkPods(t, ns, "job", 1, true, map[string]string{"app": "x"},
		&metav1.OwnerReference{APIVersion: "batch/v1", Kind: "Job", Name: "j", UID: "0f6a6c8e-0000-4000-8000-000000000001", Controller: &yes})
	pdb := waitStatus(t, ns, "budget", wantStatus{expected: 2, desired: 1, current: 2, allowed: 0, reason: policyv1.SyncFailedReason})
	c := apimeta.FindStatusCondition(pdb.Status.Conditions, policyv1.DisruptionAllowedCondition)
	if c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, `found no controllers for pod "job-0"`) {
		t.Fatalf("condition %+v, want False with the pod named", c)
	}

	if err := env.Client.CoreV1().Pods(ns).Delete(context.Background(), "job-0", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ns, "budget", wantStatus{expected: 2, desired: 1, current: 2, allowed: 1, reason: policyv1.SufficientPodsReason})
}

func TestDisruptionDisruptedPodsExpire(t *testing.T) {
	ns := env.Namespace(t)
	startController(t)
	pods := mkPods(t, ns, "p", 3, true, map[string]string{"app": "x"}, nil)
	mkPDB(t, ns, "budget", policyv1.PodDisruptionBudgetSpec{MinAvailable: intOr(intstr.FromInt32(1)), Selector: selector("app", "x")})
	waitStatus(t, ns, "budget", wantStatus{expected: 3, desired: 1, current: 3, allowed: 2, reason: policyv1.SufficientPodsReason})

	// What the eviction subresource records: p-0 about to go (but its deletion never comes, and
	// its entry is 4s from expiry), p-1 just now, and a pod that no longer exists.
	now := time.Now()
	setDisrupted(t, ns, "budget", map[string]metav1.Time{
		pods[0].Name: metav1.NewTime(now.Add(-DeletionTimeout + 4*time.Second)),
		pods[1].Name: metav1.NewTime(now),
		"gone":       metav1.NewTime(now),
	})
	waitStatus(t, ns, "budget", wantStatus{expected: 3, desired: 1, current: 1, allowed: 0, reason: policyv1.InsufficientPodsReason,
		disrupted: []string{pods[0].Name, pods[1].Name}})

	// p-0's entry expires: it counts again, with no event needed to notice.
	waitStatus(t, ns, "budget", wantStatus{expected: 3, desired: 1, current: 2, allowed: 1, reason: policyv1.SufficientPodsReason,
		disrupted: []string{pods[1].Name}})

	// p-1 is deleted as the eviction intended: its entry goes with it.
	if err := env.Client.CoreV1().Pods(ns).Delete(context.Background(), pods[1].Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ns, "budget", wantStatus{expected: 2, desired: 1, current: 2, allowed: 1, reason: policyv1.SufficientPodsReason})
}

// setDisrupted writes status.disruptedPods as an eviction would.
func setDisrupted(t *testing.T, ns, name string, disrupted map[string]metav1.Time) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pdb, err := env.Client.PolicyV1().PodDisruptionBudgets(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		pdb.Status.DisruptedPods = disrupted
		_, err = env.Client.PolicyV1().PodDisruptionBudgets(ns).UpdateStatus(context.Background(), pdb, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func podTemplate(lbls map[string]string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbls},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}}
}

func mkReplicaSet(t *testing.T, ns, name string, n int32, lbls map[string]string, owner *metav1.OwnerReference) *appsv1.ReplicaSet {
	t.Helper()
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.ReplicaSetSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: lbls}, Template: podTemplate(lbls)}}
	if owner != nil {
		rs.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	out, err := env.Client.AppsV1().ReplicaSets(ns).Create(context.Background(), rs, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mkDeployment(t *testing.T, ns, name string, n int32, lbls map[string]string) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: lbls}, Template: podTemplate(lbls)}}
	out, err := env.Client.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mkStatefulSet(t *testing.T, ns, name string, n int32, lbls map[string]string) *appsv1.StatefulSet {
	t.Helper()
	ss := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.StatefulSetSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: lbls}, Template: podTemplate(lbls)}}
	out, err := env.Client.AppsV1().StatefulSets(ns).Create(context.Background(), ss, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mkReplicationController(t *testing.T, ns, name string, n int32, lbls map[string]string) *corev1.ReplicationController {
	t.Helper()
	tmpl := podTemplate(lbls)
	rc := &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ReplicationControllerSpec{Replicas: &n, Selector: lbls, Template: &tmpl}}
	out, err := env.Client.CoreV1().ReplicationControllers(ns).Create(context.Background(), rc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
