package printers

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func gk(group, kind string) schema.GroupKind { return schema.GroupKind{Group: group, Kind: kind} }

// podSpec has the containers app (nginx:1.27) and log (busybox).
func podSpec() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}, {Name: "log", Image: "busybox"}}}}
}

func labelSelector() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"},
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"front"}}}}
}

func TestAppsCells(t *testing.T) {
	deploy := &appsv1.Deployment{ObjectMeta: objMeta("web"), Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(3)), Selector: labelSelector(), Template: podSpec()},
		Status: appsv1.DeploymentStatus{ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 2}}
	badSelector := deploy.DeepCopy()
	badSelector.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Bogus"}}}
	rs := &appsv1.ReplicaSet{ObjectMeta: objMeta("web-5d4f"), Spec: appsv1.ReplicaSetSpec{Replicas: ptr(int32(3)), Selector: labelSelector(), Template: podSpec()},
		Status: appsv1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 1}}
	sts := &appsv1.StatefulSet{ObjectMeta: objMeta("db"), Spec: appsv1.StatefulSetSpec{Replicas: ptr(int32(3)), Template: podSpec()},
		Status: appsv1.StatefulSetStatus{ReadyReplicas: 3}}
	ds := &appsv1.DaemonSet{ObjectMeta: objMeta("proxy"), Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "proxy"}}, Template: podSpec()},
		Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 4, CurrentNumberScheduled: 4, NumberReady: 3, UpdatedNumberScheduled: 2, NumberAvailable: 3}}
	dsWithSelector := ds.DeepCopy()
	dsWithSelector.Spec.Template.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
	cr := &appsv1.ControllerRevision{ObjectMeta: objMeta("db-7c9"), Revision: 4}
	cr.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", Controller: ptr(true)}}
	coreOwned := &appsv1.ControllerRevision{ObjectMeta: objMeta("x-1"), Revision: 1}
	coreOwned.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "x", Controller: ptr(true)}}
	orphan := &appsv1.ControllerRevision{ObjectMeta: objMeta("y-1"), Revision: 2}

	runCellCases(t, []cellCase{
		{"deployment", gk("apps", "Deployment"), deploy, []interface{}{"web", "2/3", int64(3), int64(2), "60m", "app,log", "nginx:1.27,busybox", "app=web,tier in (front)"}},
		{"deployment with invalid selector", gk("apps", "Deployment"), badSelector, []interface{}{"web", "2/3", int64(3), int64(2), "60m", "app,log", "nginx:1.27,busybox", "<invalid>"}},
		{"replica set", gk("apps", "ReplicaSet"), rs, []interface{}{"web-5d4f", int64(3), int64(3), int64(1), "60m", "app,log", "nginx:1.27,busybox", "app=web,tier in (front)"}},
		{"stateful set", gk("apps", "StatefulSet"), sts, []interface{}{"db", "3/3", "60m", "app,log", "nginx:1.27,busybox"}},
		{"daemon set", gk("apps", "DaemonSet"), ds, []interface{}{"proxy", int64(4), int64(4), int64(3), int64(2), int64(3), "<none>", "60m", "app,log", "nginx:1.27,busybox", "app=proxy"}},
		{"daemon set with node selector", gk("apps", "DaemonSet"), dsWithSelector, []interface{}{"proxy", int64(4), int64(4), int64(3), int64(2), int64(3), "kubernetes.io/os=linux", "60m", "app,log", "nginx:1.27,busybox", "app=proxy"}},
		{"controller revision", gk("apps", "ControllerRevision"), cr, []interface{}{"db-7c9", "statefulset.apps/db", int64(4), "60m"}},
		{"controller revision of a core kind", gk("apps", "ControllerRevision"), coreOwned, []interface{}{"x-1", "pod/x", int64(1), "60m"}},
		{"controller revision without controller", gk("apps", "ControllerRevision"), orphan, []interface{}{"y-1", "<none>", int64(2), "60m"}},
	})
}

func job(name string, edit func(*batchv1.Job)) *batchv1.Job {
	j := &batchv1.Job{ObjectMeta: objMeta(name), Spec: batchv1.JobSpec{Completions: ptr(int32(1)), Parallelism: ptr(int32(1)),
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": "u1"}},
		Template: podSpec()}}
	edit(j)
	return j
}

func jobCond(t batchv1.JobConditionType) batchv1.JobCondition {
	return batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue}
}

func TestJobCells(t *testing.T) {
	const sel = "batch.kubernetes.io/controller-uid=u1"
	tests := []struct {
		name                           string
		job                            *batchv1.Job
		status, completions, durations string
	}{
		{"not started", job("j", func(j *batchv1.Job) {}), "Running", "0/1", ""},
		{"running", job("j", func(j *batchv1.Job) { j.Status.StartTime = agoPtr(90 * time.Second) }), "Running", "0/1", "90s"},
		{"complete", job("j", func(j *batchv1.Job) {
			j.Status.StartTime, j.Status.CompletionTime, j.Status.Succeeded = agoPtr(10*time.Minute), agoPtr(7*time.Minute), 1
			j.Status.Conditions = []batchv1.JobCondition{jobCond(batchv1.JobSuccessCriteriaMet), jobCond(batchv1.JobComplete)}
		}), "Complete", "1/1", "3m"},
		{"failed", job("j", func(j *batchv1.Job) {
			j.Status.Conditions = []batchv1.JobCondition{jobCond(batchv1.JobFailureTarget), jobCond(batchv1.JobFailed)}
		}), "Failed", "0/1", ""},
		{"terminating", job("j", func(j *batchv1.Job) { j.DeletionTimestamp = agoPtr(time.Second) }), "Terminating", "0/1", ""},
		{"suspended", job("j", func(j *batchv1.Job) { j.Status.Conditions = []batchv1.JobCondition{jobCond(batchv1.JobSuspended)} }), "Suspended", "0/1", ""},
		{"failure target", job("j", func(j *batchv1.Job) { j.Status.Conditions = []batchv1.JobCondition{jobCond(batchv1.JobFailureTarget)} }), "FailureTarget", "0/1", ""},
		{"success criteria met", job("j", func(j *batchv1.Job) {
			j.Status.Conditions = []batchv1.JobCondition{jobCond(batchv1.JobSuccessCriteriaMet)}
		}), "SuccessCriteriaMet", "0/1", ""},
		{"false condition ignored", job("j", func(j *batchv1.Job) {
			j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobSuspended, Status: corev1.ConditionFalse}}
		}), "Running", "0/1", ""},
		{"work queue", job("j", func(j *batchv1.Job) {
			j.Spec.Completions, j.Spec.Parallelism, j.Status.Succeeded = nil, ptr(int32(4)), 2
		}), "Running", "2/1 of 4", ""},
		{"single without completions", job("j", func(j *batchv1.Job) { j.Spec.Completions, j.Spec.Parallelism = nil, nil }), "Running", "0/1", ""},
		{"indexed", job("j", func(j *batchv1.Job) { j.Spec.Completions, j.Status.Succeeded = ptr(int32(5)), 3 }), "Running", "3/5", ""},
	}
	cases := make([]cellCase, len(tests))
	for i, tt := range tests {
		cases[i] = cellCase{tt.name, gk("batch", "Job"), tt.job, []interface{}{"j", tt.status, tt.completions, tt.durations, "60m", "app,log", "nginx:1.27,busybox", sel}}
	}
	runCellCases(t, cases)
}

func TestCronJobCells(t *testing.T) {
	cj := &batchv1.CronJob{ObjectMeta: objMeta("nightly"), Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *",
		JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: podSpec()}}}}
	active := cj.DeepCopy()
	active.Spec.TimeZone, active.Spec.Suspend = ptr("Europe/Paris"), ptr(false)
	active.Status.Active = []corev1.ObjectReference{{Name: "a"}, {Name: "b"}}
	active.Status.LastScheduleTime = agoPtr(4 * time.Minute)
	active.Spec.JobTemplate.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"x": "y"}}
	runCellCases(t, []cellCase{
		{"never scheduled", gk("batch", "CronJob"), cj, []interface{}{"nightly", "0 3 * * *", "<none>", "<unset>", int64(0), "<none>", "60m", "app,log", "nginx:1.27,busybox", "<none>"}},
		{"active", gk("batch", "CronJob"), active, []interface{}{"nightly", "0 3 * * *", "Europe/Paris", "False", int64(2), "4m", "60m", "app,log", "nginx:1.27,busybox", "x=y"}},
	})
}

func TestNetworkingCells(t *testing.T) {
	rules := func(hosts ...string) []networkingv1.IngressRule {
		out := make([]networkingv1.IngressRule, len(hosts))
		for i, h := range hosts {
			out[i].Host = h
		}
		return out
	}
	ing := &networkingv1.Ingress{ObjectMeta: objMeta("web"), Spec: networkingv1.IngressSpec{IngressClassName: ptr("nginx"), Rules: rules("a.example.com", "", "b.example.com"),
		TLS: []networkingv1.IngressTLS{{Hosts: []string{"a.example.com"}}}},
		Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{Ingress: []networkingv1.IngressLoadBalancerIngress{{IP: "192.0.2.2"}, {IP: "192.0.2.1"}, {Hostname: "lb.example.com"}}}}}
	many := &networkingv1.Ingress{ObjectMeta: objMeta("many"), Spec: networkingv1.IngressSpec{Rules: rules("a", "b", "c", "", "e")}}
	wildcard := &networkingv1.Ingress{ObjectMeta: objMeta("any"), Spec: networkingv1.IngressSpec{Rules: rules("")}}
	class := &networkingv1.IngressClass{ObjectMeta: objMeta("nginx"), Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx",
		Parameters: &networkingv1.IngressClassParametersReference{APIGroup: ptr("k8s.example.com"), Kind: "IngressParameters", Name: "external-lb"}}}
	class.Annotations = map[string]string{"ingressclass.kubernetes.io/is-default-class": "true"}
	plainClass := &networkingv1.IngressClass{ObjectMeta: objMeta("plain"), Spec: networkingv1.IngressClassSpec{Controller: "example.com/ingress",
		Parameters: &networkingv1.IngressClassParametersReference{Kind: "ConfigMap", Name: "cfg"}}}
	bareClass := &networkingv1.IngressClass{ObjectMeta: objMeta("bare"), Spec: networkingv1.IngressClassSpec{Controller: "example.com/ingress"}}
	np := &networkingv1.NetworkPolicy{ObjectMeta: objMeta("deny"), Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"role": "db"}}}}
	npAll := &networkingv1.NetworkPolicy{ObjectMeta: objMeta("all")}
	runCellCases(t, []cellCase{
		{"ingress", gk("networking.k8s.io", "Ingress"), ing, []interface{}{"web", "nginx", "a.example.com,b.example.com", "192.0.2.1,192.0.2.2,lb.example.com", "80, 443", "60m"}},
		{"ingress with many rules", gk("networking.k8s.io", "Ingress"), many, []interface{}{"many", "<none>", "a,b,c + 2 more...", "", "80", "60m"}},
		{"ingress without hosts", gk("networking.k8s.io", "Ingress"), wildcard, []interface{}{"any", "<none>", "*", "", "80", "60m"}},
		{"default ingress class", gk("networking.k8s.io", "IngressClass"), class, []interface{}{"nginx (default)", "k8s.io/ingress-nginx", "IngressParameters.k8s.example.com/external-lb", "60m"}},
		{"ingress class with core parameters", gk("networking.k8s.io", "IngressClass"), plainClass, []interface{}{"plain", "example.com/ingress", "ConfigMap/cfg", "60m"}},
		{"ingress class without parameters", gk("networking.k8s.io", "IngressClass"), bareClass, []interface{}{"bare", "example.com/ingress", "<none>", "60m"}},
		{"network policy", gk("networking.k8s.io", "NetworkPolicy"), np, []interface{}{"deny", "role=db", "60m"}},
		{"network policy for all pods", gk("networking.k8s.io", "NetworkPolicy"), npAll, []interface{}{"all", "<none>", "60m"}},
	})
}

func TestRBACCells(t *testing.T) {
	subjects := []rbacv1.Subject{{Kind: "User", Name: "alice"}, {Kind: "Group", Name: "devs"}, {Kind: "ServiceAccount", Namespace: "kube-system", Name: "ctl"},
		{Kind: "User", Name: "bob"}, {Kind: "Other", Name: "x"}}
	rb := &rbacv1.RoleBinding{ObjectMeta: objMeta("read"), RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "reader"}, Subjects: subjects}
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: objMeta("admin"), RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "cluster-admin"}}
	runCellCases(t, []cellCase{
		{"role binding", gk("rbac.authorization.k8s.io", "RoleBinding"), rb, []interface{}{"read", "Role/reader", "60m", "alice, bob", "devs", "kube-system/ctl"}},
		{"cluster role binding without subjects", gk("rbac.authorization.k8s.io", "ClusterRoleBinding"), crb, []interface{}{"admin", "ClusterRole/cluster-admin", "60m", "", "", ""}},
		{"role uses the default table", gk("rbac.authorization.k8s.io", "Role"), &rbacv1.Role{ObjectMeta: objMeta("reader")}, []interface{}{"reader", "2026-11-27T11:00:00Z"}},
		{"cluster role uses the default table", gk("rbac.authorization.k8s.io", "ClusterRole"), &rbacv1.ClusterRole{ObjectMeta: objMeta("view")}, []interface{}{"view", "2026-11-27T11:00:00Z"}},
	})
}

func TestOtherGroupCells(t *testing.T) {
	slice := &discoveryv1.EndpointSlice{ObjectMeta: objMeta("web-abc"), AddressType: discoveryv1.AddressTypeIPv4,
		Ports:     []discoveryv1.EndpointPort{{Port: ptr(int32(80))}, {Name: ptr("metrics")}, {}, {Port: ptr(int32(443))}},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.42.0.1", "10.42.0.2"}}, {Addresses: []string{"10.42.0.3"}}, {Addresses: []string{"10.42.0.4"}}}}
	emptySlice := &discoveryv1.EndpointSlice{ObjectMeta: objMeta("web-empty"), AddressType: discoveryv1.AddressTypeIPv6}
	retain, wait := corev1.PersistentVolumeReclaimRetain, storagev1.VolumeBindingWaitForFirstConsumer
	sc := &storagev1.StorageClass{ObjectMeta: objMeta("fast"), Provisioner: "example.com/ssd", ReclaimPolicy: &retain, VolumeBindingMode: &wait, AllowVolumeExpansion: ptr(true)}
	scDefaults := &storagev1.StorageClass{ObjectMeta: objMeta("local-path"), Provisioner: "rancher.io/local-path"}
	scDefaults.Annotations = map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}
	preempt := corev1.PreemptLowerPriority
	runCellCases(t, []cellCase{
		{"lease", gk("coordination.k8s.io", "Lease"), &coordinationv1.Lease{ObjectMeta: objMeta("kube-scheduler"), Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr("host_1234")}},
			[]interface{}{"kube-scheduler", "host_1234", "60m"}},
		{"lease without holder", gk("coordination.k8s.io", "Lease"), &coordinationv1.Lease{ObjectMeta: objMeta("free")}, []interface{}{"free", "", "60m"}},
		{"endpoint slice", gk("discovery.k8s.io", "EndpointSlice"), slice, []interface{}{"web-abc", "IPv4", "80,metrics,* + 1 more...", "10.42.0.1,10.42.0.2,10.42.0.3 + 1 more...", "60m"}},
		{"empty endpoint slice", gk("discovery.k8s.io", "EndpointSlice"), emptySlice, []interface{}{"web-empty", "IPv6", "<unset>", "<unset>", "60m"}},
		{"storage class", gk("storage.k8s.io", "StorageClass"), sc, []interface{}{"fast", "example.com/ssd", "Retain", "WaitForFirstConsumer", true, "60m"}},
		{"storage class defaults, not marked alone", gk("storage.k8s.io", "StorageClass"), scDefaults, []interface{}{"local-path", "rancher.io/local-path", "Delete", "Immediate", false, "60m"}},
		{"pod disruption budget", gk("policy", "PodDisruptionBudget"), &policyv1.PodDisruptionBudget{ObjectMeta: objMeta("pdb"),
			Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr(intstr.FromString("50%"))}, Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1}},
			[]interface{}{"pdb", "50%", "N/A", int64(1), "60m"}},
		{"pod disruption budget by max unavailable", gk("policy", "PodDisruptionBudget"), &policyv1.PodDisruptionBudget{ObjectMeta: objMeta("pdb"),
			Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr(intstr.FromInt32(1))}},
			[]interface{}{"pdb", "N/A", "1", int64(0), "60m"}},
		{"priority class", gk("scheduling.k8s.io", "PriorityClass"), &schedulingv1.PriorityClass{ObjectMeta: objMeta("system-node-critical"), Value: 2000001000, GlobalDefault: false, PreemptionPolicy: &preempt},
			[]interface{}{"system-node-critical", int64(2000001000), false, "60m", "PreemptLowerPriority"}},
		{"priority class without policy", gk("scheduling.k8s.io", "PriorityClass"), &schedulingv1.PriorityClass{ObjectMeta: objMeta("low"), Value: -5, GlobalDefault: true},
			[]interface{}{"low", int64(-5), true, "60m", ""}},
	})
}

func TestNewEventCells(t *testing.T) {
	ev := &eventsv1.Event{ObjectMeta: objMeta("web.2"), EventTime: metav1.NewMicroTime(now.Add(-8 * time.Minute)),
		ReportingController: "kubelet", ReportingInstance: "node-1", Action: "Pulling", Reason: "Pulling", Type: "Normal",
		Regarding: corev1.ObjectReference{Kind: "Pod", Name: "web", FieldPath: "spec.containers{app}"}, Note: "  Pulling image \"nginx\"  ",
		Series: &eventsv1.EventSeries{Count: 4, LastObservedTime: metav1.NewMicroTime(now.Add(-time.Minute))}}
	legacy := &eventsv1.Event{ObjectMeta: objMeta("web.3"), Reason: "Killing", Type: "Warning", Regarding: corev1.ObjectReference{Kind: "Pod", Name: "web"},
		DeprecatedSource: corev1.EventSource{Component: "kubelet"}, DeprecatedFirstTimestamp: ago(20 * time.Minute), DeprecatedLastTimestamp: ago(3 * time.Minute), DeprecatedCount: 2}
	runCellCases(t, []cellCase{
		{"series", gk("events.k8s.io", "Event"), ev, []interface{}{"60s", "Normal", "Pulling", "pod/web", "spec.containers{app}", "kubelet, node-1", "Pulling image \"nginx\"", "8m", int64(4), "web.2"}},
		{"deprecated fields", gk("events.k8s.io", "Event"), legacy, []interface{}{"3m", "Warning", "Killing", "pod/web", "", "kubelet", "", "20m", int64(2), "web.3"}},
	})
}

func TestHPACells(t *testing.T) {
	q := resource.MustParse
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: objMeta("web"), Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web"}, MinReplicas: ptr(int32(2)), MaxReplicas: 10,
		Metrics: []autoscalingv2.MetricSpec{
			{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{AverageUtilization: ptr(int32(80))}}},
			{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{AverageValue: ptr(q("1Gi"))}}},
			{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{Target: autoscalingv2.MetricTarget{AverageValue: ptr(q("1k"))}}},
		}},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 3, CurrentMetrics: []autoscalingv2.MetricStatus{
			{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr(int32(45))}}},
		}}}
	objectAndExternal := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: objMeta("queue"), Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "StatefulSet", Name: "worker"}, MaxReplicas: 5,
		Metrics: []autoscalingv2.MetricSpec{
			{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{Target: autoscalingv2.MetricTarget{Value: ptr(q("10"))}}},
			{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{Target: autoscalingv2.MetricTarget{AverageValue: ptr(q("30"))}}},
		}},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentMetrics: []autoscalingv2.MetricStatus{
			{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricStatus{Current: autoscalingv2.MetricValueStatus{Value: ptr(q("7"))}}},
			{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{Current: autoscalingv2.MetricValueStatus{AverageValue: ptr(q("12"))}}},
		}}}
	container := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: objMeta("c"), Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "c"}, MaxReplicas: 3,
		Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{Name: corev1.ResourceCPU, Container: "app"}}}}}
	v1 := &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: objMeta("old"), Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{Kind: "Deployment", Name: "old"}, MaxReplicas: 4, TargetCPUUtilizationPercentage: ptr(int32(50))},
		Status: autoscalingv1.HorizontalPodAutoscalerStatus{CurrentReplicas: 1, CurrentCPUUtilizationPercentage: ptr(int32(20))}}
	hpaGK := gk("autoscaling", "HorizontalPodAutoscaler")
	runCellCases(t, []cellCase{
		{"resource and pods metrics", hpaGK, hpa, []interface{}{"web", "Deployment/web", "cpu: 45%/80%, memory: <unknown>/1Gi + 1 more...", "2", int64(10), int64(3), "60m"}},
		{"object and external metrics", hpaGK, objectAndExternal, []interface{}{"queue", "StatefulSet/worker", "7/10, 12/30 (avg)", "<unset>", int64(5), int64(0), "60m"}},
		{"container resource without target", hpaGK, container, []interface{}{"c", "Deployment/c", "cpu: <unknown>/<auto>", "<unset>", int64(3), int64(0), "60m"}},
		{"no metrics", hpaGK, &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: objMeta("n"), Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "n"}, MaxReplicas: 1}},
			[]interface{}{"n", "Deployment/n", "<none>", "<unset>", int64(1), int64(0), "60m"}},
		{"malformed metric prints instead of crashing", hpaGK, &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: objMeta("m"), Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "m"}, MaxReplicas: 1,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType}, {Type: "Bogus"}}}},
			[]interface{}{"m", "Deployment/m", "<unknown type>, <unknown type>", "<unset>", int64(1), int64(0), "60m"}},
		{"autoscaling/v1 object", hpaGK, v1, []interface{}{"old", "Deployment/old", "cpu: 20%/50%", "<unset>", int64(4), int64(1), "60m"}},
	})
}
