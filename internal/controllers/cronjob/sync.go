package cronjob

import (
	"context"
	"fmt"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/controller"
)

// pass is one reconcile of one CronJob.
type pass struct {
	c    *Controller
	cj   *batchv1.CronJob
	jobs []*batchv1.Job
	now  time.Time
}

func (p *pass) run(ctx context.Context) error {
	orig := p.cj.Status.DeepCopy()
	active := p.trackJobs()
	if err := p.prune(ctx); err != nil {
		return err
	}
	var requeue time.Duration
	var err error
	if p.cj.DeletionTimestamp == nil && !(p.cj.Spec.Suspend != nil && *p.cj.Spec.Suspend) {
		requeue, err = p.schedule(ctx, active)
	}
	if !equality.Semantic.DeepEqual(*orig, p.cj.Status) {
		if _, uerr := p.c.cfg.Client.BatchV1().CronJobs(p.cj.Namespace).UpdateStatus(ctx, p.cj, metav1.UpdateOptions{}); uerr != nil && !apierrors.IsNotFound(uerr) {
			return uerr
		}
	}
	if err != nil {
		return err
	}
	if requeue > 0 {
		return controller.RequeueAfter(requeue)
	}
	return nil
}

// trackJobs rebuilds status.active and lastSuccessfulTime from the owned Jobs and returns the
// unfinished ones.
func (p *pass) trackJobs() []*batchv1.Job {
	var active []*batchv1.Job
	p.cj.Status.Active = nil
	for _, j := range p.jobs {
		switch finished(j) {
		case "":
			if j.DeletionTimestamp == nil {
				active = append(active, j)
				p.cj.Status.Active = append(p.cj.Status.Active, corev1.ObjectReference{
					APIVersion: "batch/v1", Kind: "Job", Namespace: j.Namespace, Name: j.Name, UID: j.UID, ResourceVersion: j.ResourceVersion,
				})
			}
		case batchv1.JobComplete:
			if t := j.Status.CompletionTime; t != nil && (p.cj.Status.LastSuccessfulTime == nil || t.After(p.cj.Status.LastSuccessfulTime.Time)) {
				p.cj.Status.LastSuccessfulTime = t.DeepCopy()
			}
		}
	}
	sort.Slice(p.cj.Status.Active, func(i, j int) bool { return p.cj.Status.Active[i].Name < p.cj.Status.Active[j].Name })
	// Drop the ResourceVersion: it changes with every Job status write and would churn status.
	for i := range p.cj.Status.Active {
		p.cj.Status.Active[i].ResourceVersion = ""
	}
	return active
}

// schedule starts the Job for the most recent unmet schedule time, if due, and returns when to
// look again.
func (p *pass) schedule(ctx context.Context, active []*batchv1.Job) (time.Duration, error) {
	sched, err := parseSchedule(p.cj)
	if err != nil {
		p.c.event(p.cj, true, "UnparseableSchedule", "unparseable schedule: %q : %s", p.cj.Spec.Schedule, err)
		return 0, nil // fixed only by an edit, which queues us again
	}
	earliest := p.cj.CreationTimestamp.Time
	if p.cj.Status.LastScheduleTime != nil {
		earliest = p.cj.Status.LastScheduleTime.Time
	}
	if d := p.cj.Spec.StartingDeadlineSeconds; d != nil {
		if floor := p.now.Add(-time.Duration(*d) * time.Second); floor.After(earliest) {
			earliest = floor
		}
	}
	due, tooMany, next := mostRecent(sched, earliest, p.now)
	wait := next.Sub(p.now) + 100*time.Millisecond
	if due.IsZero() {
		return wait, nil
	}
	if tooMany {
		p.c.event(p.cj, true, "TooManyMissedTimes", "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew")
	}
	if d := p.cj.Spec.StartingDeadlineSeconds; d != nil && due.Add(time.Duration(*d)*time.Second).Before(p.now) {
		p.c.event(p.cj, true, "MissSchedule", "Missed scheduled time to start a job: %s", due.UTC().Format(time.RFC1123Z))
		return wait, nil
	}
	switch p.cj.Spec.ConcurrencyPolicy {
	case batchv1.ForbidConcurrent:
		if len(active) > 0 {
			p.c.event(p.cj, false, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
			return wait, nil
		}
	case batchv1.ReplaceConcurrent:
		for _, j := range active {
			if err := p.deleteJob(ctx, j); err != nil {
				return 0, err
			}
			p.c.event(p.cj, false, "SuccessfulDelete", "Deleted job %v", j.Name)
		}
	}
	if err := p.createJob(ctx, due); err != nil {
		return 0, err
	}
	return wait, nil
}

// createJob creates the Job for scheduled time t (idempotent: the name is derived from t).
func (p *pass) createJob(ctx context.Context, t time.Time) error {
	tmpl := p.cj.Spec.JobTemplate
	ann := map[string]string{ScheduledTimestampAnnotation: t.UTC().Format(time.RFC3339)}
	for k, v := range tmpl.Annotations {
		ann[k] = v
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("%s-%d", p.cj.Name, t.Unix()/60), Namespace: p.cj.Namespace, Labels: tmpl.Labels, Annotations: ann,
			OwnerReferences: []metav1.OwnerReference{controller.OwnerOf(p.cj, "batch/v1", "CronJob").Ref()},
		},
		Spec: *tmpl.Spec.DeepCopy(),
	}
	created, err := p.c.cfg.Client.BatchV1().Jobs(p.cj.Namespace).Create(ctx, job, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
	case err != nil:
		p.c.event(p.cj, true, "FailedCreate", "Error creating job: %v", err)
		return err
	default:
		p.c.event(p.cj, false, "SuccessfulCreate", "Created job %v", created.Name)
		p.cj.Status.Active = append(p.cj.Status.Active, corev1.ObjectReference{
			APIVersion: "batch/v1", Kind: "Job", Namespace: created.Namespace, Name: created.Name, UID: created.UID,
		})
	}
	ts := metav1.NewTime(t)
	p.cj.Status.LastScheduleTime = &ts
	return nil
}

// prune deletes the oldest finished Jobs beyond successfulJobsHistoryLimit (default 3) and
// failedJobsHistoryLimit (default 1).
func (p *pass) prune(ctx context.Context) error {
	var ok, failed []*batchv1.Job
	for _, j := range p.jobs {
		switch finished(j) {
		case batchv1.JobComplete:
			ok = append(ok, j)
		case batchv1.JobFailed:
			failed = append(failed, j)
		}
	}
	for _, set := range []struct {
		jobs  []*batchv1.Job
		limit *int32
		def   int32
	}{{ok, p.cj.Spec.SuccessfulJobsHistoryLimit, 3}, {failed, p.cj.Spec.FailedJobsHistoryLimit, 1}} {
		limit := set.def
		if set.limit != nil {
			limit = *set.limit
		}
		if int32(len(set.jobs)) <= limit {
			continue
		}
		sort.Slice(set.jobs, func(i, j int) bool { return olderJob(set.jobs[i], set.jobs[j]) })
		for _, j := range set.jobs[:int32(len(set.jobs))-limit] {
			if err := p.deleteJob(ctx, j); err != nil {
				return err
			}
		}
	}
	return nil
}

// olderJob orders Jobs by scheduled time (creation times tie within a second), then name.
func olderJob(a, b *batchv1.Job) bool {
	sa, sb := a.Annotations[ScheduledTimestampAnnotation], b.Annotations[ScheduledTimestampAnnotation]
	if sa != sb {
		return sa < sb
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Name < b.Name
}

func (p *pass) deleteJob(ctx context.Context, j *batchv1.Job) error {
	bg := metav1.DeletePropagationBackground
	err := p.c.cfg.Client.BatchV1().Jobs(j.Namespace).Delete(ctx, j.Name, metav1.DeleteOptions{PropagationPolicy: &bg})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func finished(j *batchv1.Job) batchv1.JobConditionType {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return c.Type
		}
	}
	return ""
}
