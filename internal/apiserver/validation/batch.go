package validation

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // CronJob time zones must validate the same on every machine.

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	maxParallelismForIndexedJob = 100000
	// maxCronJobNameLength leaves room for the 11-character suffix the
	// CronJob controller appends to job names.
	maxCronJobNameLength  = utilvalidation.DNS1035LabelMaxLength - 11
	jobControllerUIDLabel = "batch.kubernetes.io/controller-uid"
)

// validTimeZonePart is one component of an IANA time zone name.
var validTimeZonePart = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)

func jobRules() rules[*batchv1.Job] {
	return rules[*batchv1.Job]{
		namespaced: true,
		validate:   validateJob,
		update:     validateJobUpdate,
		status: func(j, _ *batchv1.Job) field.ErrorList {
			s := j.Status
			errs := nonNegative(int64(s.Active), statusPath.Child("active"))
			errs = append(errs, nonNegative(int64(s.Succeeded), statusPath.Child("succeeded"))...)
			errs = append(errs, nonNegative(int64(s.Failed), statusPath.Child("failed"))...)
			errs = append(errs, nonNegative32(s.Ready, statusPath.Child("ready"))...)
			return append(errs, nonNegative32(s.Terminating, statusPath.Child("terminating"))...)
		},
	}
}

func validateJob(j *batchv1.Job) field.ErrorList {
	s := &j.Spec
	var errs field.ErrorList
	if !isTrue(s.ManualSelector) && j.UID != "" && s.Selector != nil && s.Selector.MatchLabels[jobControllerUIDLabel] != string(j.UID) {
		errs = append(errs, field.Invalid(selectorPath, s.Selector, "`selector` not auto-generated"))
	}
	errs = append(errs, validateJobSpec(s, specPath)...)
	if s.Selector == nil {
		errs = append(errs, field.Required(selectorPath, ""))
	} else {
		errs = append(errs, labelSelector(s.Selector, selectorPath)...)
		errs = append(errs, selectorMatchesTemplate(s.Selector, s.Template.Labels, specPath)...)
	}
	if isIndexed(s) && s.Completions != nil && *s.Completions > 0 {
		host := fmt.Sprintf("%s-%d", j.Name, *s.Completions-1)
		if len(utilvalidation.IsDNS1123Label(host)) > 0 {
			errs = append(errs, field.Invalid(metadataPath.Child("name"), j.Name,
				fmt.Sprintf("will not able to create pod with invalid DNS label: %s", host)))
		}
	}
	return errs
}

func isIndexed(s *batchv1.JobSpec) bool {
	return s.CompletionMode != nil && *s.CompletionMode == batchv1.IndexedCompletion
}

// validateJobSpec checks what a Job and a CronJob's job template share.
func validateJobSpec(s *batchv1.JobSpec, p *field.Path) field.ErrorList {
	errs := nonNegative32(s.Parallelism, p.Child("parallelism"))
	errs = append(errs, nonNegative32(s.Completions, p.Child("completions"))...)
	errs = append(errs, nonNegative64(s.ActiveDeadlineSeconds, p.Child("activeDeadlineSeconds"))...)
	errs = append(errs, nonNegative32(s.BackoffLimit, p.Child("backoffLimit"))...)
	errs = append(errs, nonNegative32(s.TTLSecondsAfterFinished, p.Child("ttlSecondsAfterFinished"))...)
	errs = append(errs, nonNegative32(s.BackoffLimitPerIndex, p.Child("backoffLimitPerIndex"))...)
	errs = append(errs, nonNegative32(s.MaxFailedIndexes, p.Child("maxFailedIndexes"))...)
	if s.MaxFailedIndexes != nil && s.BackoffLimitPerIndex == nil {
		errs = append(errs, field.Required(p.Child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
	}
	errs = append(errs, validateCompletionMode(s, p)...)
	if s.PodFailurePolicy != nil {
		errs = append(errs, validatePodFailurePolicy(s, p.Child("podFailurePolicy"))...)
	}
	if s.PodReplacementPolicy != nil {
		errs = append(errs, supported(*s.PodReplacementPolicy, p.Child("podReplacementPolicy"), batchv1.TerminatingOrFailed, batchv1.Failed)...)
		if s.PodFailurePolicy != nil && *s.PodReplacementPolicy != batchv1.Failed {
			errs = append(errs, field.NotSupported(p.Child("podReplacementPolicy"), *s.PodReplacementPolicy, []batchv1.PodReplacementPolicy{batchv1.Failed}))
		}
	}
	tp := p.Child("template")
	errs = append(errs, validatePodTemplateSpec(&s.Template, tp)...)
	return append(errs, validateJobRestartPolicy(s, tp.Child("spec", "restartPolicy"))...)
}

func validateCompletionMode(s *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.CompletionMode != nil {
		errs = append(errs, supported(*s.CompletionMode, p.Child("completionMode"), batchv1.NonIndexedCompletion, batchv1.IndexedCompletion)...)
	}
	if isIndexed(s) {
		if s.Completions == nil {
			errs = append(errs, field.Required(p.Child("completions"), fmt.Sprintf("when completion mode is %s", batchv1.IndexedCompletion)))
		}
		if s.Parallelism != nil && *s.Parallelism > maxParallelismForIndexedJob {
			errs = append(errs, field.Invalid(p.Child("parallelism"), *s.Parallelism,
				fmt.Sprintf("must be less than or equal to %d when completion mode is %s", maxParallelismForIndexedJob, batchv1.IndexedCompletion)))
		}
		return errs
	}
	if s.BackoffLimitPerIndex != nil {
		errs = append(errs, field.Invalid(p.Child("backoffLimitPerIndex"), *s.BackoffLimitPerIndex, "requires indexed completion mode"))
	}
	if s.MaxFailedIndexes != nil {
		errs = append(errs, field.Invalid(p.Child("maxFailedIndexes"), *s.MaxFailedIndexes, "requires indexed completion mode"))
	}
	return errs
}

func validateJobRestartPolicy(s *batchv1.JobSpec, p *field.Path) field.ErrorList {
	rp := s.Template.Spec.RestartPolicy
	switch {
	case rp == corev1.RestartPolicyAlways || rp == "":
		return field.ErrorList{field.Required(p, fmt.Sprintf("valid values: %q, %q", corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever))}
	case rp != corev1.RestartPolicyOnFailure && rp != corev1.RestartPolicyNever:
		return field.ErrorList{field.NotSupported(p, rp, []corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever})}
	case s.PodFailurePolicy != nil && rp != corev1.RestartPolicyNever:
		return field.ErrorList{field.Invalid(p, rp, fmt.Sprintf("only %q is supported when podFailurePolicy is specified", corev1.RestartPolicyNever))}
	}
	return nil
}

// validateJobUpdate keeps the selector, the pod template (except scheduling
// directives of a suspended Job that never started) and the completion
// settings fixed.
func validateJobUpdate(j, old *batchv1.Job) field.ErrorList {
	s, o := &j.Spec, &old.Spec
	errs := validateCompletionsUpdate(s, o)
	errs = append(errs, immutable(s.Selector, o.Selector, selectorPath)...)
	oldTemplate := o.Template.DeepCopy()
	if isTrue(o.Suspend) && old.Status.StartTime == nil {
		allowSchedulingChanges(&s.Template, oldTemplate)
	}
	errs = append(errs, immutable(s.Template, *oldTemplate, templatePath)...)
	errs = append(errs, immutable(s.CompletionMode, o.CompletionMode, specPath.Child("completionMode"))...)
	errs = append(errs, immutable(s.PodFailurePolicy, o.PodFailurePolicy, specPath.Child("podFailurePolicy"))...)
	errs = append(errs, immutable(s.BackoffLimitPerIndex, o.BackoffLimitPerIndex, specPath.Child("backoffLimitPerIndex"))...)
	errs = append(errs, immutable(s.ManagedBy, o.ManagedBy, specPath.Child("managedBy"))...)
	errs = append(errs, immutable(s.SuccessPolicy, o.SuccessPolicy, specPath.Child("successPolicy"))...)
	return append(errs, immutable(s.PodReplacementPolicy, o.PodReplacementPolicy, specPath.Child("podReplacementPolicy"))...)
}

// allowSchedulingChanges copies the mutable scheduling directives of t into
// old, so only the other fields are compared.
func allowSchedulingChanges(t, old *corev1.PodTemplateSpec) {
	switch {
	case t.Spec.Affinity == nil && old.Spec.Affinity != nil:
		old.Spec.Affinity.NodeAffinity = nil
		if *old.Spec.Affinity == (corev1.Affinity{}) {
			old.Spec.Affinity = nil
		}
	case t.Spec.Affinity != nil && old.Spec.Affinity == nil:
		old.Spec.Affinity = &corev1.Affinity{NodeAffinity: t.Spec.Affinity.NodeAffinity}
	case t.Spec.Affinity != nil:
		old.Spec.Affinity.NodeAffinity = t.Spec.Affinity.NodeAffinity
	}
	old.Spec.NodeSelector = t.Spec.NodeSelector
	old.Spec.Tolerations = t.Spec.Tolerations
	old.Annotations = t.Annotations
	old.Labels = t.Labels
	old.Spec.SchedulingGates = t.Spec.SchedulingGates
}

// validateCompletionsUpdate allows an Indexed Job to change completions
// together with parallelism (elastic Indexed Jobs); otherwise it is fixed.
func validateCompletionsUpdate(s, o *batchv1.JobSpec) field.ErrorList {
	p := specPath.Child("completions")
	if !isIndexed(s) || s.Completions == nil || o.Completions == nil || *s.Completions == *o.Completions {
		return immutable(s.Completions, o.Completions, p)
	}
	if s.Parallelism == nil || *s.Parallelism != *s.Completions {
		return field.ErrorList{field.Invalid(p, *s.Completions, "can only be modified in tandem with spec.parallelism")}
	}
	return nil
}

func cronJobRules() rules[*batchv1.CronJob] {
	return rules[*batchv1.CronJob]{
		namespaced: true,
		validate:   func(cj *batchv1.CronJob) field.ErrorList { return validateCronJobSpec(&cj.Spec) },
		create: func(cj *batchv1.CronJob) field.ErrorList {
			errs := validateCronJobSchedule(&cj.Spec, nil, specPath.Child("schedule"))
			if len(cj.Name) > maxCronJobNameLength {
				errs = append(errs, field.Invalid(metadataPath.Child("name"), cj.Name, "must be no more than 52 characters"))
			}
			return errs
		},
		update: func(cj, old *batchv1.CronJob) field.ErrorList {
			return validateCronJobSchedule(&cj.Spec, &old.Spec, specPath.Child("schedule"))
		},
	}
}

// validateCronJobSpec checks everything but the schedule, whose rules depend
// on the old object.
func validateCronJobSpec(s *batchv1.CronJobSpec) field.ErrorList {
	errs := nonNegative64(s.StartingDeadlineSeconds, specPath.Child("startingDeadlineSeconds"))
	errs = append(errs, validateTimeZone(s.TimeZone, specPath.Child("timeZone"))...)
	errs = append(errs, supported(s.ConcurrencyPolicy, specPath.Child("concurrencyPolicy"),
		batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent)...)
	errs = append(errs, validateJobTemplate(&s.JobTemplate, specPath.Child("jobTemplate"))...)
	errs = append(errs, nonNegative32(s.SuccessfulJobsHistoryLimit, specPath.Child("successfulJobsHistoryLimit"))...)
	return append(errs, nonNegative32(s.FailedJobsHistoryLimit, specPath.Child("failedJobsHistoryLimit"))...)
}

// validateCronJobSchedule checks the cron expression. A TZ= or CRON_TZ=
// prefix is refused (use timeZone) unless the old object already had one.
func validateCronJobSchedule(s, old *batchv1.CronJobSpec, p *field.Path) field.ErrorList {
	if s.Schedule == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	if _, err := cron.ParseStandard(s.Schedule); err != nil {
		errs = append(errs, field.Invalid(p, s.Schedule, err.Error()))
	}
	allowTZ := old != nil && strings.Contains(old.Schedule, "TZ")
	switch {
	case allowTZ && strings.Contains(s.Schedule, "TZ") && s.TimeZone != nil:
		errs = append(errs, field.Invalid(p, s.Schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
	case !allowTZ && strings.Contains(s.Schedule, "TZ"):
		errs = append(errs, field.Invalid(p, s.Schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
	}
	return errs
}

func validateTimeZone(tz *string, p *field.Path) field.ErrorList {
	if tz == nil {
		return nil
	}
	if *tz == "" {
		return field.ErrorList{field.Invalid(p, tz, "timeZone must be nil or non-empty string")}
	}
	for _, part := range strings.Split(*tz, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !validTimeZonePart.MatchString(part) {
			return field.ErrorList{field.Invalid(p, tz, fmt.Sprintf("unknown time zone %s", *tz))}
		}
	}
	if strings.EqualFold(*tz, "Local") {
		return field.ErrorList{field.Invalid(p, tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones")}
	}
	if _, err := time.LoadLocation(*tz); err != nil {
		return field.ErrorList{field.Invalid(p, tz, err.Error())}
	}
	return nil
}

func validateJobTemplate(t *batchv1.JobTemplateSpec, p *field.Path) field.ErrorList {
	sp := p.Child("spec")
	errs := validateJobSpec(&t.Spec, sp)
	if t.Spec.Selector != nil {
		errs = append(errs, field.Invalid(sp.Child("selector"), t.Spec.Selector, "`selector` will be auto-generated"))
	}
	if isTrue(t.Spec.ManualSelector) {
		errs = append(errs, field.NotSupported(sp.Child("manualSelector"), t.Spec.ManualSelector, []string{"nil", "false"}))
	}
	return errs
}
