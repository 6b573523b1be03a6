package job

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/controller"
)

// IndexAnnotation (and label) carries an Indexed Job pod's completion index.
const IndexAnnotation = batchv1.JobCompletionIndexAnnotation

// pass is one reconcile of one Job.
type pass struct {
	c   *Controller
	job *batchv1.Job
	key string
	now time.Time

	active, succeeded, failed []*corev1.Pod // failed: those that count (podFailurePolicy)
	terminating               int32
	requeue                   time.Duration

	terminatingPods []*corev1.Pod
	policyFailure   string       // a FailJob rule's message, when one matched
	failedIndexes   map[int]bool // indexes failed for good (backoffLimitPerIndex)
}

// sort files the pods by state, then applies the pod failure policy to the failed ones.
func (p *pass) sort(pods []*corev1.Pod) {
	for _, pod := range pods {
		switch {
		case pod.Status.Phase == corev1.PodSucceeded:
			p.succeeded = append(p.succeeded, pod)
		case pod.Status.Phase == corev1.PodFailed:
			p.failed = append(p.failed, pod)
		case pod.DeletionTimestamp != nil:
			p.terminating++
			p.terminatingPods = append(p.terminatingPods, pod)
		default:
			p.active = append(p.active, pod)
		}
	}
	p.classifyFailures()
}

func (p *pass) run(ctx context.Context) error {
	st := &p.job.Status
	if st.StartTime == nil && !isTrue(p.job.Spec.Suspend) {
		t := metav1.NewTime(p.now)
		st.StartTime = &t
	}
	var err error
	switch reason, msg := p.failure(); {
	case reason != "":
		err = p.fail(ctx, reason, msg)
	case p.succeededAll():
		err = p.complete(ctx)
	case isTrue(p.job.Spec.Suspend):
		err = p.suspend(ctx)
	case p.c.exp.Satisfied(p.key):
		p.resume()
		err = p.manage(ctx)
	}
	if werr := p.writeStatus(ctx); werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	if p.requeue > 0 {
		return controller.RequeueAfter(p.requeue)
	}
	return nil
}

// failure says why the Job has failed, if it has.
func (p *pass) failure() (string, string) {
	if cond := condition(p.job, batchv1.JobFailureTarget); cond != nil && cond.Status == corev1.ConditionTrue {
		return cond.Reason, cond.Message
	}
	if p.policyFailure != "" {
		return reasonPodFailurePolicy, p.policyFailure
	}
	if reason, msg := p.indexFailure(); reason != "" {
		return reason, msg
	}
	limit := int32(6)
	if p.job.Spec.BackoffLimitPerIndex != nil {
		limit = math.MaxInt32
	}
	if p.job.Spec.BackoffLimit != nil {
		limit = *p.job.Spec.BackoffLimit
	}
	if int32(len(p.failed)) > limit {
		return "BackoffLimitExceeded", "Job has reached the specified backoff limit"
	}
	if d := p.job.Spec.ActiveDeadlineSeconds; d != nil && p.job.Status.StartTime != nil && !isTrue(p.job.Spec.Suspend) {
		deadline := p.job.Status.StartTime.Add(time.Duration(*d) * time.Second)
		if !p.now.Before(deadline) {
			return "DeadlineExceeded", "Job was active longer than specified deadline"
		}
		p.requeue = deadline.Sub(p.now) + 50*time.Millisecond
	}
	return "", ""
}

func (p *pass) completions() int32 {
	if p.job.Spec.Completions == nil {
		return -1
	}
	return *p.job.Spec.Completions
}

func (p *pass) indexed() bool {
	m := p.job.Spec.CompletionMode
	return m != nil && *m == batchv1.IndexedCompletion
}

func (p *pass) succeededAll() bool {
	switch n := p.completions(); {
	case n < 0:
		return len(p.succeeded) > 0 && len(p.active) == 0
	case p.indexed():
		return int32(len(p.succeededIndexes())) >= n
	default:
		return int32(len(p.succeeded)) >= n
	}
}

// fail marks FailureTarget, deletes the active pods and, once none is left, sets Failed.
func (p *pass) fail(ctx context.Context, reason, msg string) error {
	setCondition(p.job, batchv1.JobFailureTarget, reason, msg, p.now)
	if err := p.deletePods(ctx, p.active); err != nil {
		return err
	}
	p.active = nil
	if p.terminating == 0 {
		setCondition(p.job, batchv1.JobFailed, reason, msg, p.now)
		p.c.cfg.Recorder.Event(p.job, corev1.EventTypeWarning, reason, msg)
	}
	return nil
}

// complete marks SuccessCriteriaMet, removes surplus pods and sets Complete.
func (p *pass) complete(ctx context.Context) error {
	setCondition(p.job, batchv1.JobSuccessCriteriaMet, "CompletionsReached", "Reached expected number of succeeded pods", p.now)
	if err := p.deletePods(ctx, p.active); err != nil {
		return err
	}
	p.active = nil
	if p.terminating == 0 {
		setCondition(p.job, batchv1.JobComplete, "CompletionsReached", "Reached expected number of succeeded pods", p.now)
		t := metav1.NewTime(p.now)
		p.job.Status.CompletionTime = &t
		p.c.cfg.Recorder.Event(p.job, corev1.EventTypeNormal, "Completed", "Job completed")
	}
	return nil
}

func (p *pass) suspend(ctx context.Context) error {
	setCondition(p.job, batchv1.JobSuspended, "JobSuspended", "Job suspended", p.now)
	err := p.deletePods(ctx, p.active)
	p.active = nil
	return err
}

func (p *pass) resume() {
	if c := condition(p.job, batchv1.JobSuspended); c != nil && c.Status == corev1.ConditionTrue {
		c.Status, c.Reason, c.Message, c.LastTransitionTime = corev1.ConditionFalse, "JobResumed", "Job resumed", metav1.NewTime(p.now)
	}
}

// wantActive is how many pods should run now.
func (p *pass) wantActive() int32 {
	par := int32(1)
	if p.job.Spec.Parallelism != nil {
		par = *p.job.Spec.Parallelism
	}
	switch n := p.completions(); {
	case n < 0 && len(p.succeeded) > 0:
		return 0
	case n < 0:
		return par
	case p.indexed():
		return max(0, min(par, n-int32(len(p.succeededIndexes())+len(p.failedIndexes))))
	default:
		return max(0, min(par, n-int32(len(p.succeeded))))
	}
}

// writeStatus computes the counts and writes status when it changed.
func (p *pass) writeStatus(ctx context.Context) error {
	st := &p.job.Status
	st.Active, st.Succeeded, st.Failed = 0, int32(len(p.succeeded)), int32(len(p.failed))
	var ready int32
	for _, pod := range p.active {
		if pod == nil {
			st.Active++
			continue
		}
		st.Active++
		if controller.IsPodReady(pod) {
			ready++
		}
	}
	st.Ready, st.Terminating = &ready, &p.terminating
	if p.indexed() {
		st.CompletedIndexes = formatIndexes(p.succeededIndexes())
	}
	if p.job.Spec.BackoffLimitPerIndex != nil {
		failed := formatIndexes(p.failedIndexes)
		st.FailedIndexes = &failed
	}
	old, err := p.c.jobs.Jobs(p.job.Namespace).Get(p.job.Name)
	if err != nil || equality.Semantic.DeepEqual(old.Status, *st) {
		return nil
	}
	_, err = p.c.cfg.Client.BatchV1().Jobs(p.job.Namespace).UpdateStatus(ctx, p.job, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func formatIndexes(set map[int]bool) string {
	var idx []int
	for i := range set {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	out := ""
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if out != "" {
			out += ","
		}
		if j == i {
			out += strconv.Itoa(idx[i])
		} else {
			out += fmt.Sprintf("%d-%d", idx[i], idx[j])
		}
		i = j + 1
	}
	return out
}

func isTrue(b *bool) bool { return b != nil && *b }

func condition(job *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range job.Status.Conditions {
		if job.Status.Conditions[i].Type == t {
			return &job.Status.Conditions[i]
		}
	}
	return nil
}

func setCondition(job *batchv1.Job, t batchv1.JobConditionType, reason, msg string, now time.Time) {
	if c := condition(job, t); c != nil {
		if c.Status != corev1.ConditionTrue {
			c.Status, c.LastTransitionTime = corev1.ConditionTrue, metav1.NewTime(now)
		}
		c.Reason, c.Message = reason, msg
		return
	}
	ts := metav1.NewTime(now)
	job.Status.Conditions = append(job.Status.Conditions, batchv1.JobCondition{
		Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: msg, LastProbeTime: ts, LastTransitionTime: ts,
	})
}
