package validation

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func objectMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", ResourceVersion: "1"}
}

func podTemplate(labels map[string]string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}}},
	}
}

func deployment(mods ...func(*appsv1.Deployment)) *appsv1.Deployment {
	d := &appsv1.Deployment{ObjectMeta: objectMeta("web"), Spec: appsv1.DeploymentSpec{
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		Template: podTemplate(map[string]string{"app": "web"}),
	}}
	for _, m := range mods {
		m(d)
	}
	return defaulted(d)
}

func TestValidateDeployment(t *testing.T) {
	runCases(t, create, []errCase{
		{name: "valid", obj: deployment()},
		{name: "missing selector", obj: deployment(func(d *appsv1.Deployment) { d.Spec.Selector = nil }),
			want: []wantErr{required("spec.selector")}},
		{name: "empty selector", obj: deployment(func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} }),
			want: []wantErr{invalid("spec.selector").with("empty selector is invalid for deployment")}},
		{name: "selector does not match template", obj: deployment(func(d *appsv1.Deployment) { d.Spec.Template.Labels = map[string]string{"app": "x"} }),
			want: []wantErr{invalid("spec.template.metadata.labels").with(`Invalid value: {"app":"x"}: ` + "`selector` does not match template `labels`")}},
		{name: "bad selector operator", obj: deployment(func(d *appsv1.Deployment) {
			d.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}
		}), want: []wantErr{invalid("spec.selector.matchExpressions[0].operator")}},
		{name: "template restartPolicy must be Always", obj: deployment(func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever }),
			want: []wantErr{notSupported("spec.template.spec.restartPolicy")}},
		{name: "template pod spec is validated", obj: deployment(func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "" }),
			want: []wantErr{required("spec.template.spec.containers[0].image")}},
		{name: "activeDeadlineSeconds not supported", obj: deployment(func(d *appsv1.Deployment) { d.Spec.Template.Spec.ActiveDeadlineSeconds = ptr(int64(10)) }),
			want: []wantErr{invalid("spec.template.spec.activeDeadlineSeconds").with("activeDeadlineSeconds in ReplicaSet is not Supported")}},
		{name: "negative replicas", obj: deployment(func(d *appsv1.Deployment) { d.Spec.Replicas = ptr(int32(-1)) }),
			want: []wantErr{invalid("spec.replicas")}},
		{name: "recreate with rolling update", obj: deployment(func(d *appsv1.Deployment) {
			d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{}}
		}), want: []wantErr{forbidden("spec.strategy.rollingUpdate")}},
		{name: "both surge and unavailable zero", obj: deployment(func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxUnavailable: ptr(intstr.FromInt32(0)), MaxSurge: ptr(intstr.FromString("0%"))}
		}), want: []wantErr{invalid("spec.strategy.rollingUpdate.maxUnavailable").with("may not be 0 when `maxSurge` is 0")}},
		{name: "bad percentages", obj: deployment(func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxUnavailable: ptr(intstr.FromString("150%")), MaxSurge: ptr(intstr.FromString("lots"))}
		}), want: []wantErr{invalid("spec.strategy.rollingUpdate.maxUnavailable").with("must not be greater than 100%"), invalid("spec.strategy.rollingUpdate.maxSurge")}},
		{name: "progress deadline not above minReadySeconds", obj: deployment(func(d *appsv1.Deployment) {
			d.Spec.MinReadySeconds = 600
		}), want: []wantErr{invalid("spec.progressDeadlineSeconds").with("must be greater than minReadySeconds")}},
	})
	old := deployment()
	runCases(t, ValidateUpdate, []errCase{
		{name: "scale and new image", old: old, obj: deployment(func(d *appsv1.Deployment) {
			d.Spec.Replicas = ptr(int32(5))
			d.Spec.Template.Spec.Containers[0].Image = "nginx:1.28"
		})},
		{name: "selector is immutable", old: old, obj: deployment(func(d *appsv1.Deployment) {
			d.Spec.Selector.MatchLabels["tier"] = "front"
			d.Spec.Template.Labels["tier"] = "front"
		}), want: []wantErr{invalid("spec.selector").with("field is immutable")}},
	})
	runCases(t, ValidateStatusUpdate, []errCase{
		{name: "valid status", old: old, obj: deployment(func(d *appsv1.Deployment) {
			d.Status = appsv1.DeploymentStatus{Replicas: 2, ReadyReplicas: 2, AvailableReplicas: 1, UpdatedReplicas: 2}
		})},
		{name: "inconsistent status", old: old, obj: deployment(func(d *appsv1.Deployment) {
			d.Status = appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: 2, AvailableReplicas: -1}
		}), want: []wantErr{invalid("status.readyReplicas"), invalid("status.availableReplicas")}},
	})
}

func TestValidateReplicaSetAndRC(t *testing.T) {
	rs := func(mod func(*appsv1.ReplicaSet)) *appsv1.ReplicaSet {
		r := &appsv1.ReplicaSet{ObjectMeta: objectMeta("web"), Spec: appsv1.ReplicaSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, Template: podTemplate(map[string]string{"app": "web"}),
		}}
		mod(r)
		return defaulted(r)
	}
	rc := func(mod func(*corev1.ReplicationController)) *corev1.ReplicationController {
		t := podTemplate(map[string]string{"app": "web"})
		r := &corev1.ReplicationController{ObjectMeta: objectMeta("web"), Spec: corev1.ReplicationControllerSpec{Template: &t}}
		mod(r)
		return defaulted(r)
	}
	runCases(t, create, []errCase{
		{name: "valid replicaset", obj: rs(func(*appsv1.ReplicaSet) {})},
		{name: "replicaset selector required", obj: rs(func(r *appsv1.ReplicaSet) { r.Spec.Selector = nil }), want: []wantErr{required("spec.selector")}},
		{name: "replicaset template labels", obj: rs(func(r *appsv1.ReplicaSet) { r.Spec.Template.Labels = nil }),
			want: []wantErr{invalid("spec.template.metadata.labels")}},
		{name: "valid rc with defaulted selector", obj: rc(func(*corev1.ReplicationController) {})},
		{name: "rc without template", obj: rc(func(r *corev1.ReplicationController) { r.Spec.Template = nil }),
			want: []wantErr{required("spec.selector"), required("spec.template")}},
		{name: "rc selector mismatch and restart policy", obj: rc(func(r *corev1.ReplicationController) {
			r.Spec.Selector = map[string]string{"app": "other"}
			r.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		}), want: []wantErr{invalid("spec.template.metadata.labels"), notSupported("spec.template.spec.restartPolicy")}},
	})
	runCases(t, ValidateUpdate, []errCase{
		{name: "replicaset selector immutable", old: rs(func(*appsv1.ReplicaSet) {}), obj: rs(func(r *appsv1.ReplicaSet) {
			r.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpExists}}}
		}), want: []wantErr{invalid("spec.selector")}},
	})
}

func statefulSet(mods ...func(*appsv1.StatefulSet)) *appsv1.StatefulSet {
	s := &appsv1.StatefulSet{ObjectMeta: objectMeta("db"), Spec: appsv1.StatefulSetSpec{
		ServiceName: "db",
		Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		Template:    podTemplate(map[string]string{"app": "web"}),
	}}
	for _, m := range mods {
		m(s)
	}
	return defaulted(s)
}

func TestValidateStatefulSet(t *testing.T) {
	claim := corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data"}, Spec: corev1.PersistentVolumeClaimSpec{
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: mustQuantity("1Gi")}},
	}}
	runCases(t, create, []errCase{
		{name: "valid", obj: statefulSet(func(s *appsv1.StatefulSet) { s.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{claim} })},
		{name: "bad policies", obj: statefulSet(func(s *appsv1.StatefulSet) {
			s.Spec.PodManagementPolicy = "Random"
			s.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType, RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{}}
			s.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: "Keep"}
		}), want: []wantErr{invalid("spec.podManagementPolicy"), invalid("spec.updateStrategy.rollingUpdate"),
			notSupported("spec.persistentVolumeClaimRetentionPolicy.whenDeleted")}},
		{name: "claim template without storage", obj: statefulSet(func(s *appsv1.StatefulSet) {
			c := claim.DeepCopy()
			c.Spec.Resources.Requests = nil
			s.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{*c}
		}), want: []wantErr{required("spec.volumeClaimTemplates[0].spec.resources[storage]")}},
		{name: "mounts may use claim templates but not unknown volumes", obj: statefulSet(func(s *appsv1.StatefulSet) {
			s.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{claim}
			s.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}, {Name: "logs", MountPath: "/logs"}}
		}), want: []wantErr{notFound("spec.template.spec.containers[0].volumeMounts[1].name")}},
		{name: "selector mismatch", obj: statefulSet(func(s *appsv1.StatefulSet) { s.Spec.Selector.MatchLabels = map[string]string{"app": "db"} }),
			want: []wantErr{invalid("spec.template.metadata.labels")}},
	})
	old := statefulSet()
	runCases(t, ValidateUpdate, []errCase{
		{name: "replicas, template and strategy may change", old: old, obj: statefulSet(func(s *appsv1.StatefulSet) {
			s.Spec.Replicas = ptr(int32(3))
			s.Spec.Template.Spec.Containers[0].Image = "nginx:2"
			s.Spec.UpdateStrategy.Type = appsv1.OnDeleteStatefulSetStrategyType
			s.Spec.MinReadySeconds = 5
		})},
		{name: "service name may not change", old: old, obj: statefulSet(func(s *appsv1.StatefulSet) { s.Spec.ServiceName = "other" }),
			want: []wantErr{forbidden("spec").with("updates to statefulset spec for fields other than 'replicas'")}},
		{name: "pod management policy may not change", old: old, obj: statefulSet(func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = appsv1.ParallelPodManagement }),
			want: []wantErr{forbidden("spec")}},
	})
}

func TestValidateDaemonSet(t *testing.T) {
	ds := func(mod func(*appsv1.DaemonSet)) *appsv1.DaemonSet {
		d := &appsv1.DaemonSet{ObjectMeta: objectMeta("agent"), Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, Template: podTemplate(map[string]string{"app": "web"}),
		}}
		mod(d)
		return defaulted(d)
	}
	runCases(t, create, []errCase{
		{name: "valid", obj: ds(func(*appsv1.DaemonSet) {})},
		{name: "empty selector", obj: ds(func(d *appsv1.DaemonSet) { d.Spec.Selector = &metav1.LabelSelector{} }),
			want: []wantErr{invalid("spec.selector").with("empty selector is invalid for daemonset")}},
		{name: "surge and unavailable both set", obj: ds(func(d *appsv1.DaemonSet) {
			d.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr(intstr.FromInt32(1)), MaxSurge: ptr(intstr.FromInt32(1))}
		}), want: []wantErr{invalid("spec.updateStrategy.rollingUpdate.maxSurge")}},
		{name: "both zero", obj: ds(func(d *appsv1.DaemonSet) {
			d.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr(intstr.FromInt32(0))}
		}), want: []wantErr{required("spec.updateStrategy.rollingUpdate.maxUnavailable")}},
		{name: "restart policy", obj: ds(func(d *appsv1.DaemonSet) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure }),
			want: []wantErr{notSupported("spec.template.spec.restartPolicy")}},
	})
	runCases(t, ValidateUpdate, []errCase{
		{name: "selector immutable", old: ds(func(*appsv1.DaemonSet) {}), obj: ds(func(d *appsv1.DaemonSet) {
			d.Spec.Selector.MatchLabels["x"] = "y"
			d.Spec.Template.Labels["x"] = "y"
		}), want: []wantErr{invalid("spec.selector")}},
	})
}

func job(mods ...func(*batchv1.Job)) *batchv1.Job {
	t := podTemplate(nil)
	t.Spec.RestartPolicy = corev1.RestartPolicyNever
	j := &batchv1.Job{ObjectMeta: objectMeta("pi"), Spec: batchv1.JobSpec{Template: t}}
	j.UID = "0d2f8c3a"
	for _, m := range mods {
		m(j)
	}
	return defaulted(j)
}

func TestValidateJob(t *testing.T) {
	runCases(t, create, []errCase{
		{name: "valid with generated selector", obj: job()},
		{name: "valid with manual selector", obj: job(func(j *batchv1.Job) {
			j.UID = ""
			j.Spec.ManualSelector = ptr(true)
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
			j.Spec.Template.Labels = map[string]string{"app": "web"}
		})},
		{name: "no selector without uid", obj: job(func(j *batchv1.Job) { j.UID = "" }), want: []wantErr{required("spec.selector")}},
		{name: "selector not generated", obj: job(func(j *batchv1.Job) {
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
			j.Spec.Template.Labels = map[string]string{"app": "web"}
		}), want: []wantErr{invalid("spec.selector").with("`selector` not auto-generated")}},
		{name: "restart policy Always", obj: job(func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = "" }),
			want: []wantErr{required("spec.template.spec.restartPolicy").with(`valid values: "OnFailure", "Never"`)}},
		{name: "negative counts", obj: job(func(j *batchv1.Job) {
			j.Spec.Parallelism, j.Spec.Completions, j.Spec.BackoffLimit = ptr(int32(-1)), ptr(int32(-1)), ptr(int32(-1))
			j.Spec.ActiveDeadlineSeconds = ptr(int64(-1))
		}), want: []wantErr{invalid("spec.parallelism"), invalid("spec.completions"), invalid("spec.backoffLimit"), invalid("spec.activeDeadlineSeconds")}},
		{name: "indexed needs completions", obj: job(func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
			j.Spec.Parallelism = ptr(int32(2))
		}), want: []wantErr{required("spec.completions")}},
		{name: "pod failure policy needs Never", obj: job(func(j *batchv1.Job) {
			j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{}
		}), want: []wantErr{invalid("spec.template.spec.restartPolicy")}},
		{name: "valid pod failure policy", obj: job(func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: ptr("nginx"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{1, 42}}},
				{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget}}},
			}}
		})},
		{name: "pod failure policy rules", obj: job(func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				{Action: "Explode"},
				{Action: batchv1.PodFailurePolicyActionFailIndex, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: ptr("other"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{0, 5, 3}}},
			}}
		}), want: []wantErr{notSupported("spec.podFailurePolicy.rules[0].action"), invalid("spec.podFailurePolicy.rules[0]"),
			invalid("spec.podFailurePolicy.rules[1].action").with("requires the backoffLimitPerIndex to be set"),
			invalid("spec.podFailurePolicy.rules[1].onExitCodes.containerName"),
			invalid("spec.podFailurePolicy.rules[1].onExitCodes.values[0]"), invalid("spec.podFailurePolicy.rules[1].onExitCodes.values[2]")}},
	})
	old := job()
	old.Spec.Suspend = ptr(true)
	runCases(t, ValidateUpdate, []errCase{
		{name: "parallelism and suspend may change", old: old, obj: func() *batchv1.Job {
			j := job()
			j.Spec.Parallelism = ptr(int32(3))
			return j
		}()},
		{name: "scheduling directives of a suspended job may change", old: old, obj: job(func(j *batchv1.Job) {
			j.Spec.Suspend = ptr(true)
			j.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"}
		})},
		{name: "template is immutable", old: old, obj: job(func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "busybox" }),
			want: []wantErr{invalid("spec.template").with("field is immutable")}},
		{name: "completions are immutable", old: old, obj: job(func(j *batchv1.Job) { j.Spec.Completions = ptr(int32(4)) }),
			want: []wantErr{invalid("spec.completions")}},
		{name: "selector is immutable; template labels only while suspended", old: old, obj: func() *batchv1.Job {
			j := job()
			j.Spec.Selector.MatchLabels["extra"] = "x"
			j.Spec.Template.Labels["extra"] = "x"
			return j
		}(), want: []wantErr{invalid("spec.selector")}},
		{name: "template labels of a running job are immutable", old: job(), obj: func() *batchv1.Job {
			j := job()
			j.Spec.Template.Labels["extra"] = "x"
			return j
		}(), want: []wantErr{invalid("spec.template")}},
	})
}

func cronJob(mod func(*batchv1.CronJob)) *batchv1.CronJob {
	t := podTemplate(nil)
	t.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	cj := &batchv1.CronJob{ObjectMeta: objectMeta("backup"), Spec: batchv1.CronJobSpec{
		Schedule: "*/5 * * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: t}},
	}}
	mod(cj)
	return defaulted(cj)
}

func TestValidateCronJob(t *testing.T) {
	runCases(t, create, []errCase{
		{name: "valid", obj: cronJob(func(*batchv1.CronJob) {})},
		{name: "descriptor and time zone", obj: cronJob(func(c *batchv1.CronJob) { c.Spec.Schedule = "@hourly"; c.Spec.TimeZone = ptr("Europe/Berlin") })},
		{name: "missing schedule", obj: cronJob(func(c *batchv1.CronJob) { c.Spec.Schedule = "" }), want: []wantErr{required("spec.schedule")}},
		{name: "bad schedule", obj: cronJob(func(c *batchv1.CronJob) { c.Spec.Schedule = "61 * * * *" }), want: []wantErr{invalid("spec.schedule")}},
		{name: "six fields", obj: cronJob(func(c *batchv1.CronJob) { c.Spec.Schedule = "0 0 * * * *" }), want: []wantErr{invalid("spec.schedule")}},
		{name: "TZ in schedule", obj: cronJob(func(c *batchv1.CronJob) { c.Spec.Schedule = "TZ=UTC 0 * * * *" }),
			want: []wantErr{invalid("spec.schedule").with("cannot use TZ or CRON_TZ in schedule, use timeZone field instead")}},
		{name: "bad time zones", obj: cronJob(func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr("Mars/Olympus") }), want: []wantErr{invalid("spec.timeZone")}},
		{name: "local time zone", obj: cronJob(func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr("Local") }),
			want: []wantErr{invalid("spec.timeZone").with("explicit time zone")}},
		{name: "concurrency policy", obj: cronJob(func(c *batchv1.CronJob) { c.Spec.ConcurrencyPolicy = "Sometimes" }),
			want: []wantErr{notSupported("spec.concurrencyPolicy")}},
		{name: "job template restart policy", obj: cronJob(func(c *batchv1.CronJob) {
			c.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
		}),
			want: []wantErr{required("spec.jobTemplate.spec.template.spec.restartPolicy")}},
		{name: "job template selector", obj: cronJob(func(c *batchv1.CronJob) { c.Spec.JobTemplate.Spec.Selector = &metav1.LabelSelector{} }),
			want: []wantErr{invalid("spec.jobTemplate.spec.selector")}},
		{name: "name too long", obj: cronJob(func(c *batchv1.CronJob) { c.Name = "a23456789012345678901234567890123456789012345678901234" }),
			want: []wantErr{invalid("metadata.name").with("must be no more than 52 characters")}},
	})
	tzOld := cronJob(func(c *batchv1.CronJob) { c.Spec.Schedule = "TZ=UTC 0 * * * *" })
	runCases(t, ValidateUpdate, []errCase{
		{name: "TZ kept on an object that had it", old: tzOld, obj: cronJob(func(c *batchv1.CronJob) { c.Spec.Schedule = "TZ=UTC 5 * * * *" })},
		{name: "TZ added on update", old: cronJob(func(*batchv1.CronJob) {}), obj: cronJob(func(c *batchv1.CronJob) { c.Spec.Schedule = "CRON_TZ=UTC 5 * * * *" }),
			want: []wantErr{invalid("spec.schedule")}},
	})
}

func TestValidateControllerRevisionAndPodTemplate(t *testing.T) {
	cr := func(data []byte) *appsv1.ControllerRevision {
		return &appsv1.ControllerRevision{ObjectMeta: objectMeta("web-1"), Revision: 1, Data: runtime.RawExtension{Raw: data}}
	}
	pt := func(mod func(*corev1.PodTemplate)) *corev1.PodTemplate {
		t := &corev1.PodTemplate{ObjectMeta: objectMeta("tmpl"), Template: podTemplate(nil)}
		mod(t)
		return defaulted(t)
	}
	runCases(t, create, []errCase{
		{name: "valid revision", obj: cr([]byte(`{}`))},
		{name: "revision without data", obj: cr(nil), want: []wantErr{required("data")}},
		{name: "valid pod template", obj: pt(func(*corev1.PodTemplate) {})},
		{name: "pod template containers", obj: pt(func(t *corev1.PodTemplate) { t.Template.Spec.Containers = nil }),
			want: []wantErr{required("template.spec.containers")}},
	})
	runCases(t, ValidateUpdate, []errCase{
		{name: "revision data immutable", old: cr([]byte(`{}`)), obj: cr([]byte(`{"a":1}`)), want: []wantErr{invalid("data")}},
	})
}
