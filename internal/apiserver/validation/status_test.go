package validation

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// withStatus returns a copy of obj changed by set, for status writes.
func withStatus[T runtime.Object](obj T, set func(T)) T {
	c := obj.DeepCopyObject().(T)
	set(c)
	return c
}

func TestValidateStatusUpdates(t *testing.T) {
	ss, ds, j := statefulSet(), daemonSetFixture(), job()
	t.Run("spec rules are not rechecked on status writes", func(t *testing.T) {
		broken := withStatus(deployment(), func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "" })
		expectErrors(t, ValidateStatusUpdate(broken, deployment()), nil)
	})
	runCases(t, ValidateStatusUpdate, []errCase{
		{name: "statefulset counts", old: ss, obj: withStatus(ss, func(s *appsv1.StatefulSet) {
			s.Status = appsv1.StatefulSetStatus{Replicas: 1, CurrentReplicas: -1, UpdatedReplicas: -1}
		}), want: []wantErr{invalid("status.currentReplicas"), invalid("status.updatedReplicas")}},
		{name: "statefulset collision count may not go down", old: withStatus(ss, func(s *appsv1.StatefulSet) { s.Status.CollisionCount = ptr(int32(2)) }),
			obj: withStatus(ss, func(s *appsv1.StatefulSet) { s.Status.CollisionCount = ptr(int32(1)) }), want: []wantErr{invalid("status.collisionCount")}},
		{name: "daemonset counts", old: ds, obj: withStatus(ds, func(d *appsv1.DaemonSet) { d.Status.NumberReady = -1 }),
			want: []wantErr{invalid("status.numberReady")}},
		{name: "job counts", old: j, obj: withStatus(j, func(j *batchv1.Job) { j.Status.Active, j.Status.Failed = 1, -1 }),
			want: []wantErr{invalid("status.failed")}},
		{name: "replication controller counts", old: rcFixture(), obj: withStatus(rcFixture(), func(r *corev1.ReplicationController) {
			r.Status = corev1.ReplicationControllerStatus{Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 2}
		}), want: []wantErr{invalid("status.availableReplicas").with("cannot be greater than status.replicas"),
			invalid("status.availableReplicas").with("cannot be greater than readyReplicas")}},
		{name: "pdb status", old: pdbFixture(), obj: withStatus(pdbFixture(), func(p *policyv1.PodDisruptionBudget) {
			p.Status.DisruptionsAllowed = -1
			p.Status.Conditions = []metav1.Condition{{Type: "DisruptionAllowed", Status: "Maybe", Reason: "x"}}
		}), want: []wantErr{invalid("status.disruptionsAllowed"), notSupported("status.conditions[0].status"),
			required("status.conditions[0].lastTransitionTime")}},
		{name: "node capacity", old: nodeFixture(), obj: withStatus(nodeFixture(), func(n *corev1.Node) {
			n.Status.Capacity = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("-1")}
		}), want: []wantErr{invalid("status.capacity[cpu]")}},
		{name: "pv phase", old: pvFixture(), obj: withStatus(pvFixture(), func(v *corev1.PersistentVolume) { v.Status.Phase = "Lost" }),
			want: []wantErr{notSupported("status.phase")}},
	})
}

func daemonSetFixture() *appsv1.DaemonSet {
	return defaulted(&appsv1.DaemonSet{ObjectMeta: objectMeta("agent"), Spec: appsv1.DaemonSetSpec{
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, Template: podTemplate(map[string]string{"app": "web"}),
	}})
}

func rcFixture() *corev1.ReplicationController {
	t := podTemplate(map[string]string{"app": "web"})
	return defaulted(&corev1.ReplicationController{ObjectMeta: objectMeta("web"), Spec: corev1.ReplicationControllerSpec{Template: &t}})
}

func pdbFixture() *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{ObjectMeta: objectMeta("web"), Spec: policyv1.PodDisruptionBudgetSpec{
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
	}}
}

func nodeFixture() *corev1.Node {
	return defaulted(&corev1.Node{ObjectMeta: clusterMeta("node-1")})
}

func pvFixture() *corev1.PersistentVolume {
	return defaulted(&corev1.PersistentVolume{ObjectMeta: clusterMeta("pv-1"), Spec: corev1.PersistentVolumeSpec{
		Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
		AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data"}},
	}})
}
