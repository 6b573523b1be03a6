package printers

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// batchPrinter returns the printer of a kind in the batch group.
func batchPrinter(kind string) (Printer, bool) {
	switch kind {
	case "Job":
		return jobPrinter(), true
	case "CronJob":
		return cronJobPrinter(), true
	}
	return Printer{}, false
}

func jobPrinter() Printer {
	return Printer{
		Columns: columns(cols(nameColumn(),
			str("Status", "Status of the job."),
			str("Completions", batchv1.JobStatus{}.SwaggerDoc()["succeeded"]),
			str("Duration", "Time required to complete the job."),
			ageColumn()), templateColumns(batchv1.JobSpec{}.SwaggerDoc()["selector"])),
		Cells: simpleCells(func(job *batchv1.Job, now time.Time) []interface{} {
			cells := []interface{}{job.Name, jobStatus(job), jobCompletions(job), jobDuration(job, now), age(job.CreationTimestamp, now)}
			return withTemplate(cells, job.Spec.Template.Spec, selectorString(job.Spec.Selector))
		}),
	}
}

// jobCompletions is "succeeded/completions", or for a job without a completion
// count "succeeded/1", with " of parallelism" when that is above one.
func jobCompletions(job *batchv1.Job) string {
	if job.Spec.Completions != nil {
		return fmt.Sprintf("%d/%d", job.Status.Succeeded, *job.Spec.Completions)
	}
	if p := deref(job.Spec.Parallelism); p > 1 {
		return fmt.Sprintf("%d/1 of %d", job.Status.Succeeded, p)
	}
	return fmt.Sprintf("%d/1", job.Status.Succeeded)
}

// jobDuration is how long the job ran, or has been running; empty before it starts.
func jobDuration(job *batchv1.Job, now time.Time) string {
	switch start, done := job.Status.StartTime, job.Status.CompletionTime; {
	case start == nil:
		return ""
	case done == nil:
		return duration.HumanDuration(now.Sub(start.Time))
	default:
		return duration.HumanDuration(done.Sub(start.Time))
	}
}

// jobStatus names the job's state from its conditions, in upstream's order of precedence.
func jobStatus(job *batchv1.Job) string {
	has := func(t batchv1.JobConditionType) bool { return jobCondition(job.Status.Conditions, t) }
	switch {
	case has(batchv1.JobComplete):
		return "Complete"
	case has(batchv1.JobFailed):
		return "Failed"
	case job.DeletionTimestamp != nil:
		return terminating
	case has(batchv1.JobSuspended):
		return "Suspended"
	case has(batchv1.JobFailureTarget):
		return "FailureTarget"
	case has(batchv1.JobSuccessCriteriaMet):
		return "SuccessCriteriaMet"
	}
	return "Running"
}

// jobCondition tells whether the first condition of type t is True.
func jobCondition(conditions []batchv1.JobCondition, t batchv1.JobConditionType) bool {
	for _, c := range conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func cronJobPrinter() Printer {
	spec := batchv1.CronJobSpec{}.SwaggerDoc()
	status := batchv1.CronJobStatus{}.SwaggerDoc()
	return Printer{
		Columns: columns(cols(nameColumn(),
			str("Schedule", spec["schedule"]),
			str("Timezone", spec["timeZone"]),
			boolean("Suspend", spec["suspend"]),
			integer("Active", status["active"]),
			str("Last Schedule", status["lastScheduleTime"]),
			ageColumn()), templateColumns(batchv1.JobSpec{}.SwaggerDoc()["selector"])),
		Cells: simpleCells(cronJobCells),
	}
}

func cronJobCells(cj *batchv1.CronJob, now time.Time) []interface{} {
	last := none
	if cj.Status.LastScheduleTime != nil {
		last = age(*cj.Status.LastScheduleTime, now)
	}
	tz := none
	if cj.Spec.TimeZone != nil {
		tz = *cj.Spec.TimeZone
	}
	jobSpec := cj.Spec.JobTemplate.Spec
	cells := []interface{}{cj.Name, cj.Spec.Schedule, tz, boolPtr(cj.Spec.Suspend), int64(len(cj.Status.Active)), last, age(cj.CreationTimestamp, now)}
	return withTemplate(cells, jobSpec.Template.Spec, selectorString(jobSpec.Selector))
}
