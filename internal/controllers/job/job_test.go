package job

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/controller/controllertest"
)

var env *controllertest.Env

func TestMain(m *testing.M) { controllertest.Main(m, &env) }

func start(t *testing.T) {
	f := env.Factory()
	c, err := New(Config{Client: env.Client, Jobs: f.Batch().V1().Jobs(), Pods: f.Core().V1().Pods(), BackoffBase: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Run(t, f, c)
}

type jobOpt func(*batchv1.Job)

func createJob(t *testing.T, ns string, opts ...jobOpt) *batchv1.Job {
	t.Helper()
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "work"}, Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}}}
	for _, o := range opts {
		o(j)
	}
	j, err := env.Client.BatchV1().Jobs(ns).Create(context.Background(), j, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func i32(n int32) *int32 { return &n }
func i64(n int64) *int64 { return &n }

// activePods lists the job's running (non-terminal, not deleted) pods, oldest first.
func activePods(t *testing.T, ns string) []corev1.Pod {
	l, err := env.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range l.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func waitActive(t *testing.T, ns string, n int) []corev1.Pod {
	t.Helper()
	var got []corev1.Pod
	controllertest.Eventually(t, 15*time.Second, func() (bool, string) {
		got = activePods(t, ns)
		return len(got) == n, fmt.Sprintf("%d active pods, want %d", len(got), n)
	})
	return got
}

func finish(t *testing.T, p corev1.Pod, phase corev1.PodPhase) {
	t.Helper()
	p.Status.Phase = phase
	if _, err := env.Client.CoreV1().Pods(p.Namespace).UpdateStatus(context.Background(), &p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitCondition(t *testing.T, ns string, ct batchv1.JobConditionType, reason string) *batchv1.Job {
	t.Helper()
	var j *batchv1.Job
	controllertest.Eventually(t, 15*time.Second, func() (bool, string) {
		var err error
		j, err = env.Client.BatchV1().Jobs(ns).Get(context.Background(), "work", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		c := condition(j, ct)
		return c != nil && c.Status == corev1.ConditionTrue && c.Reason == reason, fmt.Sprintf("status %+v", j.Status)
	})
	return j
}

func TestCompletionsWithParallelism(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	createJob(t, ns, func(j *batchv1.Job) { j.Spec.Completions, j.Spec.Parallelism = i32(3), i32(2) })
	pods := waitActive(t, ns, 2)
	finish(t, pods[0], corev1.PodSucceeded)
	finish(t, pods[1], corev1.PodSucceeded)
	pods = waitActive(t, ns, 1) // only one more is needed
	finish(t, pods[0], corev1.PodSucceeded)
	j := waitCondition(t, ns, batchv1.JobComplete, "CompletionsReached")
	if j.Status.Succeeded != 3 || j.Status.Active != 0 || j.Status.CompletionTime == nil || j.Status.StartTime == nil {
		t.Fatalf("status %+v", j.Status)
	}
	if c := condition(j, batchv1.JobSuccessCriteriaMet); c == nil || c.Status != corev1.ConditionTrue {
		t.Fatalf("SuccessCriteriaMet missing: %+v", j.Status.Conditions)
	}
}

func TestBackoffThenFailed(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	createJob(t, ns, func(j *batchv1.Job) { j.Spec.BackoffLimit = i32(2) })
	var gaps []time.Duration
	for range 3 {
		pods := waitActive(t, ns, 1)
		failedAt := time.Now()
		finish(t, pods[0], corev1.PodFailed)
		controllertest.Eventually(t, 15*time.Second, func() (bool, string) {
			a := activePods(t, ns)
			return len(a) == 1 && a[0].Name != pods[0].Name || len(a) == 0 && len(gaps) == 2, "waiting for replacement"
		})
		gaps = append(gaps, time.Since(failedAt))
		if len(gaps) == 3 {
			break
		}
	}
	j := waitCondition(t, ns, batchv1.JobFailed, "BackoffLimitExceeded")
	if j.Status.Failed != 3 || j.Status.Active != 0 {
		t.Fatalf("status %+v", j.Status)
	}
	// 300ms after the first failure, 600ms after the second.
	if gaps[0] < 250*time.Millisecond || gaps[1] < 550*time.Millisecond {
		t.Fatalf("replacements came too early: %v", gaps)
	}
}

func TestActiveDeadline(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	createJob(t, ns, func(j *batchv1.Job) { j.Spec.ActiveDeadlineSeconds, j.Spec.Parallelism = i64(1), i32(2) })
	waitActive(t, ns, 2)
	j := waitCondition(t, ns, batchv1.JobFailed, "DeadlineExceeded")
	waitActive(t, ns, 0)
	if j.Status.Active != 0 {
		t.Fatalf("active %d after deadline", j.Status.Active)
	}
}

func TestIndexed(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	mode := batchv1.IndexedCompletion
	createJob(t, ns, func(j *batchv1.Job) {
		j.Spec.Completions, j.Spec.Parallelism, j.Spec.CompletionMode = i32(3), i32(3), &mode
	})
	pods := waitActive(t, ns, 3)
	seen := map[string]bool{}
	for _, p := range pods {
		idx := p.Annotations[IndexAnnotation]
		seen[idx] = true
		if p.Spec.Hostname != "work-"+idx || p.Spec.Containers[0].Env[0].Name != "JOB_COMPLETION_INDEX" {
			t.Errorf("pod %s: hostname %q env %+v", p.Name, p.Spec.Hostname, p.Spec.Containers[0].Env)
		}
	}
	if len(seen) != 3 || !seen["0"] || !seen["1"] || !seen["2"] {
		t.Fatalf("indexes %v", seen)
	}
	for _, p := range pods {
		if p.Annotations[IndexAnnotation] == "1" {
			finish(t, p, corev1.PodSucceeded)
		}
		if p.Annotations[IndexAnnotation] == "2" {
			finish(t, p, corev1.PodFailed)
		}
	}
	// Index 2 is retried under the same index.
	controllertest.Eventually(t, 15*time.Second, func() (bool, string) {
		a := activePods(t, ns)
		idx := map[string]bool{}
		for _, p := range a {
			idx[p.Annotations[IndexAnnotation]] = true
		}
		return len(a) == 2 && idx["0"] && idx["2"], fmt.Sprintf("active indexes %v", idx)
	})
	for _, p := range activePods(t, ns) {
		finish(t, p, corev1.PodSucceeded)
	}
	j := waitCondition(t, ns, batchv1.JobComplete, "CompletionsReached")
	if j.Status.CompletedIndexes != "0-2" {
		t.Fatalf("completedIndexes %q", j.Status.CompletedIndexes)
	}
}

func TestTTLAfterFinished(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	createJob(t, ns, func(j *batchv1.Job) { j.Spec.TTLSecondsAfterFinished = i32(1) })
	pods := waitActive(t, ns, 1)
	finish(t, pods[0], corev1.PodSucceeded)
	waitCondition(t, ns, batchv1.JobComplete, "CompletionsReached")
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		j, err := env.Client.BatchV1().Jobs(ns).Get(context.Background(), "work", metav1.GetOptions{})
		return apierrors.IsNotFound(err) || err == nil && j.DeletionTimestamp != nil, "job not deleted"
	})
}

func TestFormatIndexes(t *testing.T) {
	tests := []struct {
		in   []int
		want string
	}{{nil, ""}, {[]int{0}, "0"}, {[]int{0, 1, 2}, "0-2"}, {[]int{0, 2, 3, 4, 7}, "0,2-4,7"}}
	for _, tc := range tests {
		set := map[int]bool{}
		for _, i := range tc.in {
			set[i] = true
		}
		if got := formatIndexes(set); got != tc.want {
			t.Errorf("formatIndexes(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
