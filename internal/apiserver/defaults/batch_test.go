package defaults

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestBatchDefaults(t *testing.T) {
	jobTemplate := func() corev1.PodTemplateSpec {
		t := template(appLabels(), "busybox:1")
		t.Spec.RestartPolicy = corev1.RestartPolicyNever
		return t
	}
	wantJobSpec := func(s *batchv1.JobSpec) {
		s.BackoffLimit = p(int32(6))
		s.CompletionMode = p(batchv1.NonIndexedCompletion)
		s.Suspend = p(false)
		s.PodReplacementPolicy = p(batchv1.TerminatingOrFailed)
		wantPodSpec(&s.Template.Spec, corev1.PullIfNotPresent)
	}
	runDefaults(t, []defaultsCase{
		{
			name: "job without uid: completions and parallelism default together",
			in: func() runtime.Object {
				return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "pi"}, Spec: batchv1.JobSpec{Template: jobTemplate()}}
			},
			want: func(o runtime.Object) {
				j := o.(*batchv1.Job)
				wantJobSpec(&j.Spec)
				j.Spec.Completions, j.Spec.Parallelism = p(int32(1)), p(int32(1))
				j.Spec.ManualSelector = p(false)
				j.Labels = map[string]string{"app": "web"}
			},
		},
		{
			name: "work queue job keeps completions unset",
			in: func() runtime.Object {
				return &batchv1.Job{Spec: batchv1.JobSpec{Parallelism: p(int32(3)), ManualSelector: p(true), Template: jobTemplate()}}
			},
			want: func(o runtime.Object) {
				j := o.(*batchv1.Job)
				wantJobSpec(&j.Spec)
				j.Labels = map[string]string{"app": "web"}
			},
		},
		{
			name: "job with uid gets a generated selector",
			in: func() runtime.Object {
				return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "pi", UID: "u1"}, Spec: batchv1.JobSpec{Template: template(nil, "busybox:1")}}
			},
			want: func(o runtime.Object) {
				j := o.(*batchv1.Job)
				wantJobSpec(&j.Spec)
				j.Spec.Completions, j.Spec.Parallelism = p(int32(1)), p(int32(1))
				j.Spec.ManualSelector = p(false)
				j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": "u1"}}
				labels := map[string]string{
					"batch.kubernetes.io/controller-uid": "u1", "controller-uid": "u1",
					"batch.kubernetes.io/job-name": "pi", "job-name": "pi",
				}
				j.Spec.Template.Labels = labels
				j.Labels = labels
			},
		},
		{
			name: "pod failure policy switches replacement policy to Failed",
			in: func() runtime.Object {
				return &batchv1.Job{Spec: batchv1.JobSpec{ManualSelector: p(true), Template: jobTemplate(),
					PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
						Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget}},
					}}}}}
			},
			want: func(o runtime.Object) {
				j := o.(*batchv1.Job)
				wantJobSpec(&j.Spec)
				j.Spec.Completions, j.Spec.Parallelism = p(int32(1)), p(int32(1))
				j.Spec.PodReplacementPolicy = p(batchv1.Failed)
				j.Spec.PodFailurePolicy.Rules[0].OnPodConditions[0].Status = corev1.ConditionTrue
				j.Labels = map[string]string{"app": "web"}
			},
		},
		{
			name: "cronjob",
			in: func() runtime.Object {
				return &batchv1.CronJob{Spec: batchv1.CronJobSpec{Schedule: "@hourly",
					JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: jobTemplate()}}}}
			},
			want: func(o runtime.Object) {
				cj := o.(*batchv1.CronJob)
				cj.Spec.ConcurrencyPolicy = batchv1.AllowConcurrent
				cj.Spec.Suspend = p(false)
				cj.Spec.SuccessfulJobsHistoryLimit = p(int32(3))
				cj.Spec.FailedJobsHistoryLimit = p(int32(1))
				wantPodSpec(&cj.Spec.JobTemplate.Spec.Template.Spec, corev1.PullIfNotPresent)
			},
		},
	})
}
