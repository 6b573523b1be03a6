package job

import (
	"context"
	"fmt"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/klite/klite/internal/controller/controllertest"
)

func str(s string) *string { return &s }

// failedPod is a fixture: a failed pod whose containers exited with the given codes.
func failedPod(codes map[string]int32, conds ...corev1.PodConditionType) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}, Status: corev1.PodStatus{Phase: corev1.PodFailed}}
	for _, name := range []string{"main", "sidecar"} {
		if code, ok := codes[name]; ok {
			p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: name,
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}})
		}
	}
	for _, c := range conds {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: c, Status: corev1.ConditionTrue})
	}
	return p
}

var examplePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
	{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
	{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{ContainerName: str("main"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}}},
	{Action: batchv1.PodFailurePolicyActionCount, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpNotIn, Values: []int32{1, 2}}},
	{Action: batchv1.PodFailurePolicyActionFailIndex, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{2}}},
}}

func TestMatchPolicy(t *testing.T) {
	tests := []struct {
		name       string
		policy     *batchv1.PodFailurePolicy
		pod        *corev1.Pod
		wantMsg    string
		wantCount  bool
		wantAction batchv1.PodFailurePolicyAction
	}{
		{"no policy counts", nil, failedPod(map[string]int32{"main": 42}), "", true, ""},
		{"disruption is ignored", examplePolicy, failedPod(map[string]int32{"main": 42}, corev1.DisruptionTarget), "", false, batchv1.PodFailurePolicyActionIgnore},
		{"exit 42 fails the job", examplePolicy, failedPod(map[string]int32{"main": 42}),
			"Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 1", true, batchv1.PodFailurePolicyActionFailJob},
		{"42 in another container is only counted", examplePolicy, failedPod(map[string]int32{"main": 0, "sidecar": 42}), "", true, batchv1.PodFailurePolicyActionCount},
		{"exit 2 fails the index", examplePolicy, failedPod(map[string]int32{"main": 2}), "", true, batchv1.PodFailurePolicyActionFailIndex},
		{"exit 1 matches nothing", examplePolicy, failedPod(map[string]int32{"main": 1}), "", true, ""},
		{"exit 0 never matches NotIn", examplePolicy, failedPod(map[string]int32{"main": 0}), "", true, ""},
		{"condition FailJob message", &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{Action: batchv1.PodFailurePolicyActionFailJob,
			OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}}}},
			failedPod(nil, corev1.DisruptionTarget), "Pod ns/p has condition DisruptionTarget matching FailJob rule at index 0", true, batchv1.PodFailurePolicyActionFailJob},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, count, action := matchPolicy(tt.policy, tt.pod)
			if msg != tt.wantMsg || count != tt.wantCount || action != tt.wantAction {
				t.Errorf("got (%q, %v, %q), want (%q, %v, %q)", msg, count, action, tt.wantMsg, tt.wantCount, tt.wantAction)
			}
		})
	}
}

// failWith marks a pod failed with its container "c" exiting with code, plus conditions.
func failWith(t *testing.T, p corev1.Pod, code int32, conds ...corev1.PodConditionType) {
	t.Helper()
	p.Status.Phase = corev1.PodFailed
	now := metav1.Now()
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, FinishedAt: now}}}}
	for _, c := range conds {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: c, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	if _, err := env.Client.CoreV1().Pods(p.Namespace).UpdateStatus(context.Background(), &p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func withPolicy(j *batchv1.Job) {
	j.Spec.PodFailurePolicy = examplePolicy.DeepCopy()
	j.Spec.PodFailurePolicy.Rules[1].OnExitCodes.ContainerName = str("c")
	j.Spec.PodFailurePolicy.Rules = j.Spec.PodFailurePolicy.Rules[:3]
}

func TestPodFailurePolicyFailJob(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	createJob(t, ns, withPolicy, func(j *batchv1.Job) { j.Spec.Parallelism, j.Spec.Completions = i32(2), i32(2) })
	pods := waitActive(t, ns, 2)
	failWith(t, pods[0], 42)
	j := waitCondition(t, ns, batchv1.JobFailed, batchv1.JobReasonPodFailurePolicy)
	want := fmt.Sprintf("Container c for pod %s/%s failed with exit code 42 matching FailJob rule at index 1", ns, pods[0].Name)
	for _, ct := range []batchv1.JobConditionType{batchv1.JobFailureTarget, batchv1.JobFailed} {
		if c := condition(j, ct); c == nil || c.Reason != batchv1.JobReasonPodFailurePolicy || c.Message != want {
			t.Errorf("%s condition %+v, want message %q", ct, c, want)
		}
	}
	waitActive(t, ns, 0) // the other pod is gone with the Job
	if j.Status.Failed != 1 {
		t.Errorf("status.failed %d, want 1", j.Status.Failed)
	}
}

func TestPodFailurePolicyIgnoreDoesNotCount(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	createJob(t, ns, withPolicy, func(j *batchv1.Job) { j.Spec.BackoffLimit = i32(0) })
	first := waitActive(t, ns, 1)[0]
	failWith(t, first, 137, corev1.DisruptionTarget)
	// Ignored: replaced at once (no backoff), not counted, the Job goes on.
	var second corev1.Pod
	controllertest.Eventually(t, 15*time.Second, func() (bool, string) {
		a := activePods(t, ns)
		if len(a) == 1 && a[0].Name != first.Name {
			second = a[0]
			return true, ""
		}
		return false, fmt.Sprintf("%d active pods", len(a))
	})
	j, _ := env.Client.BatchV1().Jobs(ns).Get(context.Background(), "work", metav1.GetOptions{})
	if j.Status.Failed != 0 || finished(j) != "" {
		t.Fatalf("after an ignored failure: %+v", j.Status)
	}
	// Counted (rule Count): backoffLimit 0 is exceeded.
	failWith(t, second, 3)
	j = waitCondition(t, ns, batchv1.JobFailed, "BackoffLimitExceeded")
	if j.Status.Failed != 1 {
		t.Errorf("status.failed %d, want 1", j.Status.Failed)
	}
}

func TestBackoffLimitPerIndex(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	mode := batchv1.IndexedCompletion
	createJob(t, ns, func(j *batchv1.Job) {
		j.Spec.Completions, j.Spec.Parallelism, j.Spec.CompletionMode, j.Spec.BackoffLimitPerIndex = i32(3), i32(3), &mode, i32(1)
	})
	byIndex := func() map[string]corev1.Pod {
		out := map[string]corev1.Pod{}
		for _, p := range waitActive(t, ns, 3) {
			out[p.Annotations[IndexAnnotation]] = p
		}
		return out
	}
	pods := byIndex()
	finish(t, pods["0"], corev1.PodSucceeded)
	failWith(t, pods["1"], 1)
	// Index 1 gets its one retry; index 0 is done.
	controllertest.Eventually(t, 15*time.Second, func() (bool, string) {
		a := activePods(t, ns)
		return len(a) == 2, fmt.Sprintf("%d active", len(a))
	})
	for _, p := range activePods(t, ns) {
		if p.Annotations[IndexAnnotation] == "1" {
			failWith(t, p, 1)
		} else {
			finish(t, p, corev1.PodSucceeded)
		}
	}
	j := waitCondition(t, ns, batchv1.JobFailed, batchv1.JobReasonFailedIndexes)
	if j.Status.FailedIndexes == nil || *j.Status.FailedIndexes != "1" || j.Status.CompletedIndexes != "0,2" || j.Status.Failed != 2 {
		t.Fatalf("status %+v", j.Status)
	}
	if c := condition(j, batchv1.JobFailed); c.Message != "Job has failed indexes" {
		t.Errorf("message %q", c.Message)
	}
}

// TestReplacementWaitsForFailure: with podReplacementPolicy Failed, a terminating pod is only
// replaced once it has failed.
func TestReplacementWaitsForFailure(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	policy := batchv1.Failed
	createJob(t, ns, func(j *batchv1.Job) { j.Spec.PodReplacementPolicy = &policy })
	p := waitActive(t, ns, 1)[0]
	ctx := context.Background()
	hold := []byte(`{"metadata":{"finalizers":["klite.test/hold"]}}`)
	if _, err := env.Client.CoreV1().Pods(ns).Patch(ctx, p.Name, types.MergePatchType, hold, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if a := activePods(t, ns); len(a) != 0 {
		t.Fatalf("a replacement came while the pod was still terminating: %v", a[0].Name)
	}
	cur, err := env.Client.CoreV1().Pods(ns).Get(ctx, p.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	failWith(t, *cur, 137)
	waitActive(t, ns, 1)
	release := []byte(`{"metadata":{"finalizers":null}}`)
	if _, err := env.Client.CoreV1().Pods(ns).Patch(ctx, p.Name, types.MergePatchType, release, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestFailIndexAndMaxFailedIndexes(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	mode := batchv1.IndexedCompletion
	createJob(t, ns, func(j *batchv1.Job) {
		j.Spec.Completions, j.Spec.Parallelism, j.Spec.CompletionMode = i32(2), i32(2), &mode
		j.Spec.BackoffLimitPerIndex, j.Spec.MaxFailedIndexes = i32(5), i32(0)
		j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{Action: batchv1.PodFailurePolicyActionFailIndex,
			OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{2}}}}}
	})
	pods := waitActive(t, ns, 2)
	failWith(t, pods[0], 2)
	j := waitCondition(t, ns, batchv1.JobFailed, batchv1.JobReasonMaxFailedIndexesExceeded)
	if c := condition(j, batchv1.JobFailed); c.Message != "Job has exceeded the specified maximal number of failed indexes" {
		t.Errorf("message %q", c.Message)
	}
	if want := pods[0].Annotations[IndexAnnotation]; j.Status.FailedIndexes == nil || *j.Status.FailedIndexes != want {
		t.Errorf("failedIndexes %v, want %s", j.Status.FailedIndexes, want)
	}
	waitActive(t, ns, 0)
}
