package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// pod builds a valid, defaulted pod changed by mods (applied before
// defaulting, like a user's manifest).
func pod(mods ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}}},
	}
	for _, m := range mods {
		m(p)
	}
	return defaulted(p)
}

func container(mod func(*corev1.Container)) func(*corev1.Pod) {
	return func(p *corev1.Pod) { mod(&p.Spec.Containers[0]) }
}

func TestValidatePodCreate(t *testing.T) {
	runCases(t, create, []errCase{
		{name: "valid", obj: pod()},
		{name: "valid with volumes, probes, env and sidecar", obj: pod(func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "data"}, {Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}}
			p.Spec.InitContainers = []corev1.Container{{Name: "proxy", Image: "envoy", RestartPolicy: ptr(corev1.ContainerRestartPolicyAlways),
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(15000)}}}}}
			c := &p.Spec.Containers[0]
			c.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}, {Name: "cfg", MountPath: "/etc/cfg", SubPath: "a/b"}}
			c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 80}}
			c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("http")}}}
			c.Env = []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}}}
			c.Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
			p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
		})},
		{name: "bad name", obj: pod(func(p *corev1.Pod) { p.Name = "Web_1" }), want: []wantErr{invalid("metadata.name")}},
		{name: "missing namespace", obj: pod(func(p *corev1.Pod) { p.Namespace = "" }), want: []wantErr{required("metadata.namespace")}},
		{name: "bad label", obj: pod(func(p *corev1.Pod) { p.Labels = map[string]string{"a": "not valid!"} }), want: []wantErr{invalid("metadata.labels")}},
		{name: "no containers", obj: pod(func(p *corev1.Pod) { p.Spec.Containers = nil }), want: []wantErr{required("spec.containers")}},
		{name: "container without name and image", obj: pod(container(func(c *corev1.Container) { c.Name, c.Image = "", "" })),
			want: []wantErr{required("spec.containers[0].name"), required("spec.containers[0].image")}},
		{name: "container name not a DNS label", obj: pod(container(func(c *corev1.Container) { c.Name = "Nginx" })),
			want: []wantErr{invalid("spec.containers[0].name")}},
		{name: "duplicate container name across init and regular", obj: pod(func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "nginx", Image: "busybox"}}
		}), want: []wantErr{duplicate("spec.initContainers[0].name")}},
		{name: "duplicate volume name", obj: pod(func(p *corev1.Pod) { p.Spec.Volumes = []corev1.Volume{{Name: "v"}, {Name: "v"}} }),
			want: []wantErr{duplicate("spec.volumes[1].name")}},
		{name: "two volume sources", obj: pod(func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}, HostPath: &corev1.HostPathVolumeSource{Path: "/x"}}}}
		}), want: []wantErr{forbidden("spec.volumes[0].emptyDir").with("may not specify more than 1 volume type")}},
		{name: "volume sources need their references", obj: pod(func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{
				{Name: "a", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{DefaultMode: ptr(int32(0o1000))}}},
				{Name: "b", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{}}},
				{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "x"},
					Items: []corev1.KeyToPath{{Key: "k", Path: "../etc"}}}}},
			}
		}), want: []wantErr{
			required("spec.volumes[0].secret.secretName"), invalid("spec.volumes[0].secret.defaultMode"),
			required("spec.volumes[1].persistentVolumeClaim.claimName"),
			invalid("spec.volumes[2].configMap.items[0].path").with("must not contain '..'"),
			invalid("spec.volumes[2].configMap.items[0].path").with("must not start with '..'"),
		}},
		{name: "mount of unknown volume and duplicate mount path", obj: pod(container(func(c *corev1.Container) {
			c.VolumeMounts = []corev1.VolumeMount{{Name: "missing", MountPath: "/a"}, {Name: "missing", MountPath: "/a"}, {Name: ""}}
		})), want: []wantErr{notFound("spec.containers[0].volumeMounts[0].name"), notFound("spec.containers[0].volumeMounts[1].name"),
			invalid("spec.containers[0].volumeMounts[1].mountPath").with("must be unique"),
			required("spec.containers[0].volumeMounts[2].name"), required("spec.containers[0].volumeMounts[2].mountPath")}},
		{name: "container ports", obj: pod(container(func(c *corev1.Container) {
			c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 80}, {Name: "http", ContainerPort: 70000}, {ContainerPort: 0}, {ContainerPort: 53, Protocol: "ICMP"}}
		})), want: []wantErr{duplicate("spec.containers[0].ports[1].name"), invalid("spec.containers[0].ports[1].containerPort"),
			required("spec.containers[0].ports[2].containerPort"), notSupported("spec.containers[0].ports[3].protocol")}},
		{name: "duplicate host port across containers", obj: pod(func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "b", Image: "b", Ports: []corev1.ContainerPort{{ContainerPort: 81, HostPort: 8080}}})
		}), want: []wantErr{duplicate("spec.containers[1].ports[0].hostPort")}},
		{name: "host network host port must equal container port", obj: pod(func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80}, {ContainerPort: 81, HostPort: 8081}}
		}), want: []wantErr{invalid("spec.containers[0].ports[1].hostPort").with("must match `containerPort` when `hostNetwork` is true")}},
		{name: "env vars", obj: pod(container(func(c *corev1.Container) {
			c.Env = []corev1.EnvVar{
				{Name: ""},
				{Name: "A=B"},
				{Name: "C", Value: "x", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}},
				{Name: "D", ValueFrom: &corev1.EnvVarSource{}},
				{Name: "E", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.unknown"}}},
				{Name: "F", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{}}},
			}
		})), want: []wantErr{
			required("spec.containers[0].env[0].name"), invalid("spec.containers[0].env[1].name"),
			invalid("spec.containers[0].env[2].valueFrom").with("may not be specified when `value` is not empty"),
			invalid("spec.containers[0].env[3].valueFrom"),
			notSupported("spec.containers[0].env[4].valueFrom.fieldRef.fieldPath"),
			required("spec.containers[0].env[5].valueFrom.configMapKeyRef.name"), required("spec.containers[0].env[5].valueFrom.configMapKeyRef.key"),
		}},
		{name: "resources", obj: pod(container(func(c *corev1.Container) {
			c.Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("-1")}
			c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), "foo": resource.MustParse("1")}
		})), want: []wantErr{
			invalid("spec.containers[0].resources.limits[memory]").with("must be greater than or equal to 0"),
			invalid("spec.containers[0].resources.requests").with("must be less than or equal to cpu limit of 500m"),
			invalid("spec.containers[0].resources.requests[foo]").with("must be a standard resource for containers"),
			invalid("spec.containers[0].resources.requests[memory]"),
		}},
		{name: "extended resources need equal requests and limits", obj: pod(container(func(c *corev1.Container) {
			c.Resources.Limits = corev1.ResourceList{"example.com/gpu": resource.MustParse("2")}
			c.Resources.Requests = corev1.ResourceList{"example.com/gpu": resource.MustParse("1")}
		})), want: []wantErr{invalid("spec.containers[0].resources.requests").with("must be equal to example.com/gpu limit of 2")}},
		{name: "probes", obj: pod(container(func(c *corev1.Container) {
			c.LivenessProbe = &corev1.Probe{SuccessThreshold: 2, ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
			c.ReadinessProbe = &corev1.Probe{}
			c.StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{}, TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(1)}}}
		})), want: []wantErr{invalid("spec.containers[0].livenessProbe.successThreshold").with("must be 1"),
			required("spec.containers[0].readinessProbe").with("must specify a handler type"),
			required("spec.containers[0].startupProbe.exec.command"),
			forbidden("spec.containers[0].startupProbe.tcpSocket").with("may not specify more than 1 handler type")}},
		{name: "init container probes and restart policy", obj: pod(func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{
				{Name: "a", Image: "a", ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"x"}}}}},
				{Name: "b", Image: "b", RestartPolicy: ptr(corev1.ContainerRestartPolicy("Never"))},
			}
			p.Spec.Containers[0].RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways)
		}), want: []wantErr{forbidden("spec.initContainers[0].readinessProbe"), notSupported("spec.initContainers[1].restartPolicy"),
			forbidden("spec.containers[0].restartPolicy")}},
		{name: "pod level fields", obj: pod(func(p *corev1.Pod) {
			p.Spec.RestartPolicy = "Sometimes"
			p.Spec.DNSPolicy = corev1.DNSNone
			p.Spec.Hostname = "Host_1"
			p.Spec.Subdomain = "a.b"
			p.Spec.ActiveDeadlineSeconds = ptr(int64(0))
			p.Spec.NodeSelector = map[string]string{"bad key!": "x"}
			p.Spec.ServiceAccountName = "UPPER"
		}), want: []wantErr{notSupported("spec.restartPolicy"), required("spec.dnsConfig"), invalid("spec.hostname"), invalid("spec.subdomain"),
			invalid("spec.activeDeadlineSeconds"), invalid("spec.nodeSelector"), invalid("spec.serviceAccountName")}},
		{name: "tolerations", obj: pod(func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{
				{Key: "k", Operator: corev1.TolerationOpExists, Value: "v"},
				{Operator: corev1.TolerationOpEqual, Value: "v"},
				{Key: "k", Effect: corev1.TaintEffectNoSchedule, TolerationSeconds: ptr(int64(5))},
				{Key: "k", Effect: "Sometimes"},
			}
		}), want: []wantErr{invalid("spec.tolerations[0].operator"), invalid("spec.tolerations[1].operator"),
			invalid("spec.tolerations[2].effect"), notSupported("spec.tolerations[3].effect")}},
		{name: "affinity", obj: pod(func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{
				NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}},
				PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
					LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				}}},
			}
		}), want: []wantErr{required("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"),
			required("spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey")}},
		{name: "ephemeral containers cannot be set on create", obj: pod(func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox"}}}
		}), want: []wantErr{forbidden("spec.ephemeralContainers")}},
	})
}

func TestValidatePodUpdate(t *testing.T) {
	old := pod(func(p *corev1.Pod) {
		p.ResourceVersion = "1"
		p.Spec.ActiveDeadlineSeconds = ptr(int64(100))
		p.Spec.Tolerations = []corev1.Toleration{{Key: "a", Operator: corev1.TolerationOpExists}}
	})
	changed := func(mod func(*corev1.Pod)) *corev1.Pod {
		p := old.DeepCopy()
		mod(p)
		return p
	}
	runCases(t, ValidateUpdate, []errCase{
		{name: "unchanged", obj: changed(func(*corev1.Pod) {}), old: old},
		{name: "image, labels, shorter deadline and added toleration", old: old, obj: changed(func(p *corev1.Pod) {
			p.Spec.Containers[0].Image = "nginx:1.28"
			p.Labels["tier"] = "front"
			p.Spec.ActiveDeadlineSeconds = ptr(int64(50))
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "b", Operator: corev1.TolerationOpExists})
		})},
		{name: "other spec fields are immutable", old: old, obj: changed(func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}}
		}), want: []wantErr{forbidden("spec").with("pod updates may not change fields other than")}},
		{name: "deadline may not grow", old: old, obj: changed(func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(200)) }),
			want: []wantErr{invalid("spec.activeDeadlineSeconds")}},
		{name: "toleration may not be removed", old: old, obj: changed(func(p *corev1.Pod) { p.Spec.Tolerations = nil }),
			want: []wantErr{forbidden("spec.tolerations")}},
		{name: "image may not be emptied", old: old, obj: changed(func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }),
			want: []wantErr{required("spec.containers[0].image")}},
		{name: "labels still validated", old: old, obj: changed(func(p *corev1.Pod) { p.Labels["x"] = "bad value!" }),
			want: []wantErr{invalid("metadata.labels")}},
	})
}

func TestValidatePodStatusUpdate(t *testing.T) {
	old := pod(func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded })
	running := pod(func(p *corev1.Pod) { p.Status.Phase = corev1.PodRunning })
	runCases(t, ValidateStatusUpdate, []errCase{
		{name: "valid", old: running, obj: pod(func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.PodIPs = []corev1.PodIP{{IP: "10.42.0.5"}}
		})},
		{name: "bad and duplicate pod IPs", old: running, obj: pod(func(p *corev1.Pod) {
			p.Status.PodIPs = []corev1.PodIP{{IP: "10.42.0.5"}, {IP: "10.42.0.5"}, {IP: "nope"}}
		}), want: []wantErr{duplicate("status.podIPs[1].ip"), invalid("status.podIPs[2].ip")}},
		{name: "terminal phase is final", old: old, obj: pod(func(p *corev1.Pod) { p.Status.Phase = corev1.PodRunning }),
			want: []wantErr{forbidden("status.phase")}},
		{name: "qos class is fixed", old: running, obj: pod(func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.QOSClass = corev1.PodQOSGuaranteed
		}), want: []wantErr{invalid("status.qosClass")}},
		{name: "terminated container of a Never pod stays terminated", old: pod(func(p *corev1.Pod) {
			p.Spec.RestartPolicy = corev1.RestartPolicyNever
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "nginx", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}}
		}), obj: pod(func(p *corev1.Pod) {
			p.Spec.RestartPolicy = corev1.RestartPolicyNever
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "nginx", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		}), want: []wantErr{forbidden("status.containerStatuses[0].state")}},
		{name: "failed container of an OnFailure pod may restart", old: pod(func(p *corev1.Pod) {
			p.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "nginx", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}}
		}), obj: pod(func(p *corev1.Pod) {
			p.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "nginx", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		})},
	})
}

func TestValidatePodSpecDetails(t *testing.T) {
	runCases(t, create, []errCase{
		{name: "valid details", obj: pod(func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{
				{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
					{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
					{Path: "cpu", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "nginx", Resource: "limits.cpu"}},
				}}}},
				{Name: "token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}, Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
				}}}},
				{Name: "nfs", VolumeSource: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nfs.local", Path: "/exports"}}},
			}
			c := &p.Spec.Containers[0]
			c.EnvFrom = []corev1.EnvFromSource{{Prefix: "CFG_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}
			c.Env = []corev1.EnvVar{{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory"}}},
				{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}}}
			c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 5}}}
			c.SecurityContext = &corev1.SecurityContext{RunAsUser: ptr(int64(1000))}
			p.Spec.DNSPolicy = corev1.DNSNone
			p.Spec.DNSConfig = &corev1.PodDNSConfig{Nameservers: []string{"10.43.0.10"}, Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr("2")}}}
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/os", Operator: corev1.NodeSelectorOpIn, Values: []string{"linux"}}},
					MatchFields:      []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"node-1"}}},
				}}},
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 10, Preference: corev1.NodeSelectorTerm{
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpExists}}}}},
			}}
			p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "kubernetes.io/hostname", WhenUnsatisfiable: corev1.DoNotSchedule,
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
		})},
		{name: "volume details", obj: pod(func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{
				{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
					{Path: "/abs", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}},
					{Path: "none"},
				}}}},
				{Name: "token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr(int64(60))}},
					{},
				}}}},
				{Name: "nfs", VolumeSource: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Path: "exports"}}},
			}
		}), want: []wantErr{
			invalid("spec.volumes[0].downwardAPI.items[0].path"), notSupported("spec.volumes[0].downwardAPI.items[0].fieldRef.fieldPath"),
			invalid("spec.volumes[0].downwardAPI.items[1]"),
			invalid("spec.volumes[1].projected.sources[0].serviceAccountToken.expirationSeconds"), required("spec.volumes[1].projected.sources[1]"),
			required("spec.volumes[2].nfs.server"), invalid("spec.volumes[2].nfs.path"),
		}},
		{name: "env from and resource field refs", obj: pod(container(func(c *corev1.Container) {
			c.EnvFrom = []corev1.EnvFromSource{{}, {ConfigMapRef: &corev1.ConfigMapEnvSource{}, SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}}}}
			c.Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.gpu"}}}}
		})), want: []wantErr{invalid("spec.containers[0].envFrom[0]"), required("spec.containers[0].envFrom[1].configMapRef.name"),
			invalid("spec.containers[0].envFrom[1]"), notSupported("spec.containers[0].env[0].valueFrom.resourceFieldRef.resource")}},
		{name: "lifecycle and security context", obj: pod(container(func(c *corev1.Container) {
			c.Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{}, PreStop: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(0)}}}
			c.SecurityContext = &corev1.SecurityContext{Privileged: ptr(true), AllowPrivilegeEscalation: ptr(false), RunAsUser: ptr(int64(-1))}
		})), want: []wantErr{required("spec.containers[0].lifecycle.postStart"), invalid("spec.containers[0].lifecycle.preStop.httpGet.port"),
			invalid("spec.containers[0].securityContext"), invalid("spec.containers[0].securityContext.runAsUser")}},
		{name: "node affinity expressions", obj: pod(func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchExpressions: []corev1.NodeSelectorRequirement{
						{Key: "a", Operator: corev1.NodeSelectorOpIn},
						{Key: "b", Operator: corev1.NodeSelectorOpExists, Values: []string{"x"}},
						{Key: "c", Operator: corev1.NodeSelectorOpGt, Values: []string{"1", "2"}},
						{Key: "d", Operator: "Like"},
					},
					MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.uid", Operator: corev1.NodeSelectorOpIn, Values: []string{"x"}}},
				}}},
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 101}},
			}}
		}), want: []wantErr{
			required("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values"),
			forbidden("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[1].values"),
			required("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[2].values"),
			invalid("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[3].operator"),
			notSupported("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].key"),
			invalid("spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight"),
		}},
		{name: "host aliases and host IP", obj: pod(func(p *corev1.Pod) {
			p.Spec.HostAliases = []corev1.HostAlias{{IP: "10.0.0.1", Hostnames: []string{"db.local"}}, {Hostnames: []string{"Bad_Host"}}}
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 80, HostIP: "localhost"}}
		}), want: []wantErr{required("spec.hostAliases[1].ip"), invalid("spec.hostAliases[1].hostnames[0]"), invalid("spec.containers[0].ports[0].hostIP")}},
		{name: "empty image pull secret name is only a warning upstream", obj: pod(func(p *corev1.Pod) {
			p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{}}
		})},
		{name: "topology spread and dns config", obj: pod(func(p *corev1.Pod) {
			p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{
				{MaxSkew: 0, TopologyKey: "zone", WhenUnsatisfiable: corev1.DoNotSchedule},
				{MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: corev1.DoNotSchedule},
				{MaxSkew: 1, WhenUnsatisfiable: "Maybe"},
			}
			p.Spec.DNSConfig = &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1", "8.8.8.8", "9.9.9.9", "bad"}}
		}), want: []wantErr{invalid("spec.topologySpreadConstraints[0].maxSkew"), duplicate("spec.topologySpreadConstraints[1]"),
			required("spec.topologySpreadConstraints[2].topologyKey"), notSupported("spec.topologySpreadConstraints[2].whenUnsatisfiable"),
			invalid("spec.dnsConfig.nameservers"), invalid("spec.dnsConfig.nameservers[3]")}},
	})
}

func TestValidatePodUpdateSchedulingGatesAndTolerationSeconds(t *testing.T) {
	old := pod(func(p *corev1.Pod) {
		p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/wait"}}
		p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(300))}}
	})
	changed := func(mod func(*corev1.Pod)) *corev1.Pod {
		p := old.DeepCopy()
		mod(p)
		return p
	}
	runCases(t, ValidateUpdate, []errCase{
		{name: "gate removed and toleration shortened", old: old, obj: changed(func(p *corev1.Pod) {
			p.Spec.SchedulingGates = nil
			p.Spec.Tolerations[0].TolerationSeconds = ptr(int64(10))
		})},
		{name: "gate added", old: old, obj: changed(func(p *corev1.Pod) {
			p.Spec.SchedulingGates = append(p.Spec.SchedulingGates, corev1.PodSchedulingGate{Name: "example.com/more"})
		}), want: []wantErr{forbidden("spec.schedulingGates[1]")}},
		{name: "toleration lengthened", old: old, obj: changed(func(p *corev1.Pod) { p.Spec.Tolerations[0].TolerationSeconds = ptr(int64(600)) }),
			want: []wantErr{forbidden("spec.tolerations")}},
	})
}
