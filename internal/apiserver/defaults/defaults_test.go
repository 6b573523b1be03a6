package defaults

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// defaultsCase builds an object, applies defaults to it, and compares it
// with the same object changed by want.
type defaultsCase struct {
	name string
	in   func() runtime.Object
	want func(runtime.Object)
}

func runDefaults(t *testing.T, cases []defaultsCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.in()
			Apply(got)
			want := tc.in()
			tc.want(want)
			if !equality.Semantic.DeepEqual(got, want) {
				t.Errorf("defaults mismatch (-want +got):\n%s", cmp.Diff(want, got))
			}
		})
	}
}

func p[T any](v T) *T { return &v }

// podSpec is a minimal user-written pod spec.
func podSpec(images ...string) corev1.PodSpec {
	var s corev1.PodSpec
	for i, img := range images {
		s.Containers = append(s.Containers, corev1.Container{Name: "c" + string(rune('0'+i)), Image: img})
	}
	return s
}

// wantPodSpec writes, by hand, what upstream returns for a spec built by
// podSpec (plus, for jobs, a restartPolicy) whose containers all pull with
// policy pull.
func wantPodSpec(s *corev1.PodSpec, pull corev1.PullPolicy) {
	if s.RestartPolicy == "" {
		s.RestartPolicy = corev1.RestartPolicyAlways
	}
	s.DNSPolicy = corev1.DNSClusterFirst
	s.SchedulerName = "default-scheduler"
	s.TerminationGracePeriodSeconds = p(int64(30))
	s.SecurityContext = &corev1.PodSecurityContext{}
	for i := range s.Containers {
		c := &s.Containers[i]
		c.ImagePullPolicy = pull
		c.TerminationMessagePath = "/dev/termination-log"
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
}

func template(labels map[string]string, images ...string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec(images...)}
}

// appLabels returns a fresh label map for each fixture.
func appLabels() map[string]string { return map[string]string{"app": "web"} }

func TestPodDefaults(t *testing.T) {
	runDefaults(t, []defaultsCase{
		{
			name: "minimal pod",
			in:   func() runtime.Object { return &corev1.Pod{Spec: podSpec("nginx:1.27")} },
			want: func(o runtime.Object) {
				pod := o.(*corev1.Pod)
				wantPodSpec(&pod.Spec, corev1.PullIfNotPresent)
				pod.Spec.EnableServiceLinks = p(true)
				pod.Spec.PreemptionPolicy = p(corev1.PreemptLowerPriority)
			},
		},
		{
			name: "explicit values are kept",
			in: func() runtime.Object {
				s := podSpec("nginx")
				s.RestartPolicy = corev1.RestartPolicyNever
				s.DNSPolicy = corev1.DNSDefault
				s.SchedulerName = "other"
				s.TerminationGracePeriodSeconds = p(int64(5))
				s.SecurityContext = &corev1.PodSecurityContext{RunAsUser: p(int64(1000))}
				s.EnableServiceLinks = p(false)
				s.PreemptionPolicy = p(corev1.PreemptNever)
				s.Containers[0].ImagePullPolicy = corev1.PullNever
				s.Containers[0].TerminationMessagePath = "/tmp/msg"
				s.Containers[0].TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
				return &corev1.Pod{Spec: s}
			},
			want: func(runtime.Object) {},
		},
		{
			name: "pull policy by tag",
			in: func() runtime.Object {
				return &corev1.Pod{Spec: podSpec("nginx", "nginx:latest", "registry:5000/app", "registry:5000/app:v1", "busybox@sha256:abcd")}
			},
			want: func(o runtime.Object) {
				pod := o.(*corev1.Pod)
				wantPodSpec(&pod.Spec, "")
				for i, pull := range []corev1.PullPolicy{corev1.PullAlways, corev1.PullAlways, corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullIfNotPresent} {
					pod.Spec.Containers[i].ImagePullPolicy = pull
				}
				pod.Spec.EnableServiceLinks = p(true)
				pod.Spec.PreemptionPolicy = p(corev1.PreemptLowerPriority)
			},
		},
		{
			name: "ports, probes, env and requests from limits",
			in: func() runtime.Object {
				s := podSpec("nginx:1")
				c := &s.Containers[0]
				c.Ports = []corev1.ContainerPort{{ContainerPort: 80}, {ContainerPort: 53, Protocol: corev1.ProtocolUDP}}
				c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80)}}}
				c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9000}}, PeriodSeconds: 3}
				c.Env = []corev1.EnvVar{{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}
				c.Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")}
				c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
				return &corev1.Pod{Spec: s}
			},
			want: func(o runtime.Object) {
				pod := o.(*corev1.Pod)
				wantPodSpec(&pod.Spec, corev1.PullIfNotPresent)
				pod.Spec.EnableServiceLinks = p(true)
				pod.Spec.PreemptionPolicy = p(corev1.PreemptLowerPriority)
				c := &pod.Spec.Containers[0]
				c.Ports[0].Protocol = corev1.ProtocolTCP
				c.LivenessProbe.TimeoutSeconds, c.LivenessProbe.PeriodSeconds = 1, 10
				c.LivenessProbe.SuccessThreshold, c.LivenessProbe.FailureThreshold = 1, 3
				c.LivenessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Scheme = "/", corev1.URISchemeHTTP
				c.ReadinessProbe.TimeoutSeconds, c.ReadinessProbe.SuccessThreshold, c.ReadinessProbe.FailureThreshold = 1, 1, 3
				c.ReadinessProbe.GRPC.Service = p("")
				c.Env[0].ValueFrom.FieldRef.APIVersion = "v1"
				c.Resources.Requests[corev1.ResourceMemory] = resource.MustParse("1Gi")
			},
		},
		{
			name: "host network copies container ports to host ports",
			in: func() runtime.Object {
				s := podSpec("nginx:1")
				s.HostNetwork = true
				s.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 8080}}
				return &corev1.Pod{Spec: s}
			},
			want: func(o runtime.Object) {
				pod := o.(*corev1.Pod)
				wantPodSpec(&pod.Spec, corev1.PullIfNotPresent)
				pod.Spec.EnableServiceLinks = p(true)
				pod.Spec.PreemptionPolicy = p(corev1.PreemptLowerPriority)
				pod.Spec.Containers[0].Ports[0].Protocol = corev1.ProtocolTCP
				pod.Spec.Containers[0].Ports[0].HostPort = 8080
			},
		},
		{
			name: "volumes",
			in: func() runtime.Object {
				s := podSpec("nginx:1")
				s.Volumes = []corev1.Volume{
					{Name: "empty"},
					{Name: "cm", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
					{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", DefaultMode: p(int32(0o400))}}},
					{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data"}}},
					{Name: "proj", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
						{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
					}}}},
				}
				return &corev1.Pod{Spec: s}
			},
			want: func(o runtime.Object) {
				pod := o.(*corev1.Pod)
				wantPodSpec(&pod.Spec, corev1.PullIfNotPresent)
				pod.Spec.EnableServiceLinks = p(true)
				pod.Spec.PreemptionPolicy = p(corev1.PreemptLowerPriority)
				v := pod.Spec.Volumes
				v[0].EmptyDir = &corev1.EmptyDirVolumeSource{}
				v[1].ConfigMap.DefaultMode = p(int32(0o644))
				v[3].HostPath.Type = p(corev1.HostPathUnset)
				v[4].Projected.DefaultMode = p(int32(0o644))
				v[4].Projected.Sources[0].ServiceAccountToken.ExpirationSeconds = p(int64(3600))
			},
		},
		{
			name: "priority class name leaves preemption policy to admission",
			in: func() runtime.Object {
				s := podSpec("nginx:1")
				s.PriorityClassName = "high"
				return &corev1.Pod{Spec: s}
			},
			want: func(o runtime.Object) {
				pod := o.(*corev1.Pod)
				wantPodSpec(&pod.Spec, corev1.PullIfNotPresent)
				pod.Spec.EnableServiceLinks = p(true)
			},
		},
	})
}

func TestWorkloadDefaults(t *testing.T) {
	runDefaults(t, []defaultsCase{
		{
			name: "deployment",
			in: func() runtime.Object {
				return &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: template(appLabels(), "nginx")}}
			},
			want: func(o runtime.Object) {
				d := o.(*appsv1.Deployment)
				d.Spec.Replicas = p(int32(1))
				d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: p(intstr.FromString("25%")), MaxSurge: p(intstr.FromString("25%")),
				}}
				d.Spec.RevisionHistoryLimit = p(int32(10))
				d.Spec.ProgressDeadlineSeconds = p(int32(600))
				wantPodSpec(&d.Spec.Template.Spec, corev1.PullAlways)
			},
		},
		{
			name: "deployment keeps explicit values and Recreate",
			in: func() runtime.Object {
				return &appsv1.Deployment{Spec: appsv1.DeploymentSpec{
					Replicas: p(int32(0)), RevisionHistoryLimit: p(int32(0)), ProgressDeadlineSeconds: p(int32(30)),
					Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
					Template: template(appLabels(), "nginx:1"),
				}}
			},
			want: func(o runtime.Object) {
				wantPodSpec(&o.(*appsv1.Deployment).Spec.Template.Spec, corev1.PullIfNotPresent)
			},
		},
		{
			name: "replicaset",
			in: func() runtime.Object {
				return &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Template: template(appLabels(), "nginx:1")}}
			},
			want: func(o runtime.Object) {
				rs := o.(*appsv1.ReplicaSet)
				rs.Spec.Replicas = p(int32(1))
				wantPodSpec(&rs.Spec.Template.Spec, corev1.PullIfNotPresent)
			},
		},
		{
			name: "statefulset",
			in: func() runtime.Object {
				return &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{
					Template:             template(appLabels(), "nginx:1"),
					VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}},
				}}
			},
			want: func(o runtime.Object) {
				ss := o.(*appsv1.StatefulSet)
				ss.Spec.Replicas = p(int32(1))
				ss.Spec.PodManagementPolicy = appsv1.OrderedReadyPodManagement
				ss.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
					RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: p(int32(0))}}
				ss.Spec.RevisionHistoryLimit = p(int32(10))
				ss.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
					WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType, WhenScaled: appsv1.RetainPersistentVolumeClaimRetentionPolicyType}
				ss.Spec.VolumeClaimTemplates[0].TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"}
				ss.Spec.VolumeClaimTemplates[0].Spec.VolumeMode = p(corev1.PersistentVolumeFilesystem)
				ss.Spec.VolumeClaimTemplates[0].Status.Phase = corev1.ClaimPending
				wantPodSpec(&ss.Spec.Template.Spec, corev1.PullIfNotPresent)
			},
		},
		{
			name: "daemonset",
			in: func() runtime.Object {
				return &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: template(appLabels(), "nginx:1")}}
			},
			want: func(o runtime.Object) {
				ds := o.(*appsv1.DaemonSet)
				ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType,
					RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: p(intstr.FromInt32(1)), MaxSurge: p(intstr.FromInt32(0))}}
				ds.Spec.RevisionHistoryLimit = p(int32(10))
				wantPodSpec(&ds.Spec.Template.Spec, corev1.PullIfNotPresent)
			},
		},
		{
			name: "replication controller takes selector and labels from the template",
			in: func() runtime.Object {
				t := template(appLabels(), "nginx:1")
				return &corev1.ReplicationController{Spec: corev1.ReplicationControllerSpec{Template: &t}}
			},
			want: func(o runtime.Object) {
				rc := o.(*corev1.ReplicationController)
				rc.Labels = map[string]string{"app": "web"}
				rc.Spec.Selector = map[string]string{"app": "web"}
				rc.Spec.Replicas = p(int32(1))
				wantPodSpec(&rc.Spec.Template.Spec, corev1.PullIfNotPresent)
			},
		},
		{
			name: "pod template",
			in:   func() runtime.Object { return &corev1.PodTemplate{Template: template(nil, "nginx:1")} },
			want: func(o runtime.Object) {
				wantPodSpec(&o.(*corev1.PodTemplate).Template.Spec, corev1.PullIfNotPresent)
			},
		},
	})
}

func TestPodNegativeGracePeriodBecomesOne(t *testing.T) {
	s := podSpec("nginx:1")
	s.TerminationGracePeriodSeconds = p(int64(-5))
	pod := &corev1.Pod{Spec: s}
	Apply(pod)
	if got := *pod.Spec.TerminationGracePeriodSeconds; got != 1 {
		t.Fatalf("terminationGracePeriodSeconds = %d, want 1", got)
	}
}

func TestHandlerAndVolumeSourceDefaults(t *testing.T) {
	runDefaults(t, []defaultsCase{{
		name: "lifecycle httpGet, downward API and rbd",
		in: func() runtime.Object {
			s := podSpec("nginx:1")
			s.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/stop", Port: intstr.FromInt32(80)}}}
			s.Volumes = []corev1.Volume{
				{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
					{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}}},
				{Name: "rbd", VolumeSource: corev1.VolumeSource{RBD: &corev1.RBDVolumeSource{CephMonitors: []string{"m"}, RBDImage: "img"}}},
			}
			return &corev1.PodTemplate{Template: corev1.PodTemplateSpec{Spec: s}}
		},
		want: func(o runtime.Object) {
			s := &o.(*corev1.PodTemplate).Template.Spec
			wantPodSpec(s, corev1.PullIfNotPresent)
			s.Containers[0].Lifecycle.PreStop.HTTPGet.Scheme = corev1.URISchemeHTTP
			s.Volumes[0].DownwardAPI.DefaultMode = p(int32(0o644))
			s.Volumes[0].DownwardAPI.Items[0].FieldRef.APIVersion = "v1"
			rbd := s.Volumes[1].RBD
			rbd.RBDPool, rbd.RadosUser, rbd.Keyring = "rbd", "admin", "/etc/ceph/keyring"
		},
	}})
}

func TestHostNetworkPortsOnlyInPods(t *testing.T) {
	s := podSpec("nginx:1")
	s.HostNetwork = true
	s.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 9100}}
	tmpl := &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: *s.DeepCopy()}}}
	Apply(tmpl)
	if got := tmpl.Spec.Template.Spec.Containers[0].Ports[0].HostPort; got != 0 {
		t.Errorf("template hostPort = %d, want 0 (left for the pod)", got)
	}
	pod := &corev1.Pod{Spec: s}
	Apply(pod)
	if got := pod.Spec.Containers[0].Ports[0].HostPort; got != 9100 {
		t.Errorf("pod hostPort = %d, want 9100", got)
	}
}
