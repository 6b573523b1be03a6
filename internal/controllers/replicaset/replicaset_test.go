package replicaset

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/controller/controllertest"
)

var env *controllertest.Env

func TestMain(m *testing.M) { controllertest.Main(m, &env) }

func start(t testing.TB) {
	t.Helper()
	f := env.Factory()
	cfg := Config{Client: env.Client, Pods: f.Core().V1().Pods(), ReplicaSets: f.Apps().V1().ReplicaSets(),
		ReplicationControllers: f.Core().V1().ReplicationControllers(), Recorder: env.Recorder(t, "replicaset-controller")}
	rs, err := NewReplicaSet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := NewReplicationController(cfg)
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Run(t, f, rs, rc)
}

var webLabels = map[string]string{"app": "web"}

func template() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: webLabels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}
}

func newRS(t *testing.T, ns string, replicas int32, minReady int32) *appsv1.ReplicaSet {
	t.Helper()
	rs, err := env.Client.AppsV1().ReplicaSets(ns).Create(context.Background(), &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       appsv1.ReplicaSetSpec{Replicas: &replicas, MinReadySeconds: minReady, Selector: &metav1.LabelSelector{MatchLabels: webLabels}, Template: template()},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func pods(t *testing.T, ns string) []corev1.Pod {
	t.Helper()
	l, err := env.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func ownedPods(t *testing.T, ns string, uid string) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range pods(t, ns) {
		if ref := metav1.GetControllerOf(&p); ref != nil && string(ref.UID) == uid && p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

func waitPods(t *testing.T, ns, uid string, n int) []corev1.Pod {
	t.Helper()
	var got []corev1.Pod
	controllertest.Eventually(t, 15*time.Second, func() (bool, string) {
		got = ownedPods(t, ns, uid)
		return len(got) == n, fmt.Sprintf("%d pods, want %d", len(got), n)
	})
	return got
}

func waitStatus(t *testing.T, ns string, want appsv1.ReplicaSetStatus) {
	t.Helper()
	controllertest.Eventually(t, 15*time.Second, func() (bool, string) {
		rs, err := env.Client.AppsV1().ReplicaSets(ns).Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		s := rs.Status
		return s.Replicas == want.Replicas && s.ReadyReplicas == want.ReadyReplicas && s.AvailableReplicas == want.AvailableReplicas &&
			s.FullyLabeledReplicas == want.FullyLabeledReplicas && s.ObservedGeneration == rs.Generation, fmt.Sprintf("status %+v", s)
	})
}

func TestScaleUpDownAndStatus(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	rs := newRS(t, ns, 3, 0)
	got := waitPods(t, ns, string(rs.UID), 3)
	waitStatus(t, ns, appsv1.ReplicaSetStatus{Replicas: 3, FullyLabeledReplicas: 3})
	// No double creates once the count is reached.
	controllertest.Never(t, 500*time.Millisecond, func() (bool, string) {
		n := len(pods(t, ns))
		return n != 3, fmt.Sprintf("%d pods", n)
	})
	env.MarkPodRunning(t, &got[0], true, "10.42.0.1")
	env.MarkPodRunning(t, &got[1], true, "10.42.0.2")
	env.MarkPodRunning(t, &got[2], false, "10.42.0.3")
	waitStatus(t, ns, appsv1.ReplicaSetStatus{Replicas: 3, FullyLabeledReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 2})

	// Scaling down removes the not-ready pod first.
	scale(t, ns, 2)
	left := waitPods(t, ns, string(rs.UID), 2)
	for _, p := range left {
		if p.Name == got[2].Name {
			t.Fatalf("not-ready pod %s kept, ready ones deleted: %v", p.Name, names(left))
		}
	}
	waitStatus(t, ns, appsv1.ReplicaSetStatus{Replicas: 2, FullyLabeledReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2})
	controllertest.Eventually(t, 5*time.Second, func() (bool, string) {
		ev := env.Events(ns, "web")
		return slices.Contains(ev, "SuccessfulCreate") && slices.Contains(ev, "SuccessfulDelete"), fmt.Sprintf("events %v", ev)
	})
	scale(t, ns, 0)
	waitPods(t, ns, string(rs.UID), 0)
	waitStatus(t, ns, appsv1.ReplicaSetStatus{})
}

func scale(t *testing.T, ns string, n int32) {
	t.Helper()
	s, err := env.Client.AppsV1().ReplicaSets(ns).GetScale(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Spec.Replicas = n
	if _, err := env.Client.AppsV1().ReplicaSets(ns).UpdateScale(context.Background(), "web", s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestAdoptAndRelease(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	orphan := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "orphan", Labels: webLabels}, Spec: template().Spec}
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	start(t)
	rs := newRS(t, ns, 2, 0)
	got := waitPods(t, ns, string(rs.UID), 2)
	if !slices.Contains(names(got), "orphan") {
		t.Fatalf("orphan not adopted: %v", names(got))
	}
	// Relabel the adopted pod: it is released and replaced.
	p, err := env.Client.CoreV1().Pods(ns).Get(ctx, "orphan", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Labels = map[string]string{"app": "debug"}
	if _, err := env.Client.CoreV1().Pods(ns).Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, 15*time.Second, func() (bool, string) {
		p, err := env.Client.CoreV1().Pods(ns).Get(ctx, "orphan", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		owned := ownedPods(t, ns, string(rs.UID))
		return metav1.GetControllerOf(p) == nil && len(owned) == 2 && !slices.Contains(names(owned), "orphan"),
			fmt.Sprintf("released=%v owned=%v", metav1.GetControllerOf(p) == nil, names(owned))
	})
}

func TestMinReadySeconds(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	rs := newRS(t, ns, 1, 2)
	got := waitPods(t, ns, string(rs.UID), 1)
	env.MarkPodRunning(t, &got[0], true, "10.42.0.9")
	waitStatus(t, ns, appsv1.ReplicaSetStatus{Replicas: 1, FullyLabeledReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 0})
	waitStatus(t, ns, appsv1.ReplicaSetStatus{Replicas: 1, FullyLabeledReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1})
}

func TestReplicationController(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	two := int32(2)
	tmpl := template()
	rc, err := env.Client.CoreV1().ReplicationControllers(ns).Create(context.Background(), &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.ReplicationControllerSpec{Replicas: &two, Selector: webLabels, Template: &tmpl},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := waitPods(t, ns, string(rc.UID), 2)
	if ref := metav1.GetControllerOf(&got[0]); ref.Kind != "ReplicationController" || ref.APIVersion != "v1" {
		t.Fatalf("owner ref %+v", ref)
	}
	env.MarkPodRunning(t, &got[0], true, "10.42.0.4")
	controllertest.Eventually(t, 15*time.Second, func() (bool, string) {
		rc, err := env.Client.CoreV1().ReplicationControllers(ns).Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		s := rc.Status
		return s.Replicas == 2 && s.ReadyReplicas == 1 && s.AvailableReplicas == 1 && s.FullyLabeledReplicas == 2, fmt.Sprintf("%+v", s)
	})
}

func names(ps []corev1.Pod) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}
