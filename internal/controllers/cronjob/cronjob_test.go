package cronjob

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/klite/klite/internal/controller/controllertest"
)

var env *controllertest.Env

func TestMain(m *testing.M) { controllertest.Main(m, &env) }

// clock is a settable time for the controller.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func start(t *testing.T) *clock {
	clk := &clock{t: time.Now()}
	f := env.Factory()
	c, err := New(Config{Client: env.Client, CronJobs: f.Batch().V1().CronJobs(), Jobs: f.Batch().V1().Jobs(), Now: clk.Now,
		Recorder: env.Recorder(t, "cronjob-controller")})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Run(t, f, c)
	return clk
}

func createCronJob(t *testing.T, ns string, mutate func(*batchv1.CronJob)) *batchv1.CronJob {
	t.Helper()
	cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "tick"}, Spec: batchv1.CronJobSpec{
		Schedule: "*/5 * * * *",
		JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
		}}}},
	}}
	if mutate != nil {
		mutate(cj)
	}
	cj, err := env.Client.BatchV1().CronJobs(ns).Create(context.Background(), cj, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cj
}

// advance moves the clock to the n-th schedule time after the CronJob's creation (plus skew)
// and pokes the controller.
func advance(t *testing.T, clk *clock, cj *batchv1.CronJob, n int, skew time.Duration) time.Time {
	t.Helper()
	s, err := parseSchedule(cj)
	if err != nil {
		t.Fatal(err)
	}
	at := cj.CreationTimestamp.Time
	for range n {
		at = s.Next(at)
	}
	clk.Set(at.Add(skew))
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"poke":"%d"}}}`, time.Now().UnixNano())
	if _, err := env.Client.BatchV1().CronJobs(cj.Namespace).Patch(context.Background(), cj.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	return at
}

func jobNames(t *testing.T, ns string) map[string]batchv1.Job {
	l, err := env.Client.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]batchv1.Job{}
	for _, j := range l.Items {
		if j.DeletionTimestamp == nil {
			out[j.Name] = j
		}
	}
	return out
}

func waitJobs(t *testing.T, ns string, want ...string) {
	t.Helper()
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		got := jobNames(t, ns)
		if len(got) != len(want) {
			return false, fmt.Sprintf("jobs %v, want %v", keys(got), want)
		}
		for _, w := range want {
			if _, ok := got[w]; !ok {
				return false, fmt.Sprintf("jobs %v, want %v", keys(got), want)
			}
		}
		return true, ""
	})
}

func keys(m map[string]batchv1.Job) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func jobName(at time.Time) string { return fmt.Sprintf("tick-%d", at.Unix()/60) }

func completeJob(t *testing.T, ns, name string) {
	t.Helper()
	j, err := env.Client.BatchV1().Jobs(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	j.Status.StartTime, j.Status.CompletionTime = &now, &now
	j.Status.Conditions = []batchv1.JobCondition{
		{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now},
	}
	if _, err := env.Client.BatchV1().Jobs(ns).UpdateStatus(context.Background(), j, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestSchedulesJobsAndPrunesHistory(t *testing.T) {
	ns := env.Namespace(t)
	clk := start(t)
	cj := createCronJob(t, ns, func(cj *batchv1.CronJob) { one := int32(1); cj.Spec.SuccessfulJobsHistoryLimit = &one })
	controllertest.Never(t, 500*time.Millisecond, func() (bool, string) { n := len(jobNames(t, ns)); return n > 0, fmt.Sprintf("%d jobs early", n) })
	first := advance(t, clk, cj, 1, time.Second)
	waitJobs(t, ns, jobName(first))
	j := jobNames(t, ns)[jobName(first)]
	if ref := metav1.GetControllerOf(&j); ref == nil || ref.Kind != "CronJob" || j.Annotations[ScheduledTimestampAnnotation] != first.UTC().Format(time.RFC3339) {
		t.Fatalf("job metadata: %+v %v", j.OwnerReferences, j.Annotations)
	}
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		c, _ := env.Client.BatchV1().CronJobs(ns).Get(context.Background(), "tick", metav1.GetOptions{})
		return len(c.Status.Active) == 1 && c.Status.LastScheduleTime != nil && c.Status.LastScheduleTime.Time.Equal(first), fmt.Sprintf("status %+v", c.Status)
	})
	completeJob(t, ns, jobName(first))
	second := advance(t, clk, cj, 2, time.Second)
	waitJobs(t, ns, jobName(first), jobName(second))
	completeJob(t, ns, jobName(second))
	// Two successes, history limit one: the older goes.
	waitJobs(t, ns, jobName(second))
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		c, _ := env.Client.BatchV1().CronJobs(ns).Get(context.Background(), "tick", metav1.GetOptions{})
		return len(c.Status.Active) == 0 && c.Status.LastSuccessfulTime != nil, fmt.Sprintf("status %+v", c.Status)
	})
}

func TestConcurrencyPolicies(t *testing.T) {
	tests := []struct {
		policy batchv1.ConcurrencyPolicy
		want   func(first, second time.Time) []string
	}{
		{batchv1.AllowConcurrent, func(a, b time.Time) []string { return []string{jobName(a), jobName(b)} }},
		{batchv1.ForbidConcurrent, func(a, b time.Time) []string { return []string{jobName(a)} }},
		{batchv1.ReplaceConcurrent, func(a, b time.Time) []string { return []string{jobName(b)} }},
	}
	for _, tc := range tests {
		t.Run(string(tc.policy), func(t *testing.T) {
			ns := env.Namespace(t)
			clk := start(t)
			cj := createCronJob(t, ns, func(cj *batchv1.CronJob) { cj.Spec.ConcurrencyPolicy = tc.policy })
			first := advance(t, clk, cj, 1, time.Second)
			waitJobs(t, ns, jobName(first))
			second := advance(t, clk, cj, 2, time.Second)
			waitJobs(t, ns, tc.want(first, second)...)
			controllertest.Never(t, 300*time.Millisecond, func() (bool, string) {
				n := len(jobNames(t, ns))
				return n != len(tc.want(first, second)), fmt.Sprintf("%d jobs", n)
			})
		})
	}
}

func TestStartingDeadlineMissedAndSuspend(t *testing.T) {
	ns := env.Namespace(t)
	clk := start(t)
	cj := createCronJob(t, ns, func(cj *batchv1.CronJob) { d := int64(10); cj.Spec.StartingDeadlineSeconds = &d })
	advance(t, clk, cj, 1, 30*time.Second) // 30s late, deadline 10s: skipped
	controllertest.Never(t, time.Second, func() (bool, string) { n := len(jobNames(t, ns)); return n > 0, fmt.Sprintf("%d jobs", n) })

	suspended := createCronJob(t, ns, func(cj *batchv1.CronJob) { cj.Name = "tick2"; yes := true; cj.Spec.Suspend = &yes })
	advance(t, clk, suspended, 1, time.Second)
	controllertest.Never(t, time.Second, func() (bool, string) { n := len(jobNames(t, ns)); return n > 0, fmt.Sprintf("%d jobs", n) })
}

func TestParseScheduleAndMostRecent(t *testing.T) {
	ny := "America/New_York"
	bad := "Mars/Olympus"
	tests := []struct {
		name     string
		schedule string
		tz       *string
		now      string
		wantLast string
		wantErr  bool
	}{
		{"every five minutes", "*/5 * * * *", nil, "2026-01-01T10:07:00Z", "2026-01-01T10:05:00Z", false},
		{"hourly descriptor", "@hourly", nil, "2026-01-01T10:07:00Z", "2026-01-01T10:00:00Z", false},
		{"time zone", "0 9 * * *", &ny, "2026-01-01T15:00:00Z", "2026-01-01T14:00:00Z", false},
		{"CRON_TZ prefix", "CRON_TZ=America/New_York 0 9 * * *", nil, "2026-01-01T15:00:00Z", "2026-01-01T14:00:00Z", false},
		{"bad zone", "0 9 * * *", &bad, "", "", true},
		{"bad syntax", "61 * * * *", nil, "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseSchedule(&batchv1.CronJob{Spec: batchv1.CronJobSpec{Schedule: tc.schedule, TimeZone: tc.tz}})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				return
			}
			now, _ := time.Parse(time.RFC3339, tc.now)
			last, tooMany, _ := mostRecent(s, now.Add(-24*time.Hour), now)
			if got := last.UTC().Format(time.RFC3339); got != tc.wantLast {
				t.Fatalf("last = %s, want %s", got, tc.wantLast)
			}
			if tc.name == "every five minutes" && !tooMany {
				t.Fatal("288 missed runs not reported as too many")
			}
		})
	}
}
