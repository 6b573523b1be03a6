package statefulset

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/controller/controllertest"
)

var env *controllertest.Env

func TestMain(m *testing.M) { controllertest.Main(m, &env) }

func start(t *testing.T) {
	f := env.Factory()
	c, err := New(Config{Client: env.Client, StatefulSets: f.Apps().V1().StatefulSets(), Pods: f.Core().V1().Pods(),
		Claims: f.Core().V1().PersistentVolumeClaims(), Revisions: f.Apps().V1().ControllerRevisions()})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Run(t, f, c)
}

func createSet(t *testing.T, ns string, replicas int32, mutate func(*appsv1.StatefulSet)) {
	t.Helper()
	lbl := map[string]string{"app": "db"}
	set := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: appsv1.StatefulSetSpec{
		Replicas: &replicas, ServiceName: "db", Selector: &metav1.LabelSelector{MatchLabels: lbl},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbl}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "db:1"}}}},
		VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}, Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		}}},
	}}
	if mutate != nil {
		mutate(set)
	}
	if _, err := env.Client.AppsV1().StatefulSets(ns).Create(context.Background(), set, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func updateSet(t *testing.T, ns string, f func(*appsv1.StatefulSet)) {
	t.Helper()
	for range 10 {
		s, err := env.Client.AppsV1().StatefulSets(ns).Get(context.Background(), "db", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		f(s)
		if _, err = env.Client.AppsV1().StatefulSets(ns).Update(context.Background(), s, metav1.UpdateOptions{}); err == nil {
			return
		}
	}
	t.Fatal("update kept failing")
}

// pods renders "name:image" of live pods, sorted.
func pods(t *testing.T, ns string) string {
	l, err := env.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range l.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p.Name+":"+p.Spec.Containers[0].Image)
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func waitPods(t *testing.T, ns, want string) {
	t.Helper()
	controllertest.Eventually(t, 15*time.Second, func() (bool, string) { got := pods(t, ns); return got == want, got })
}

func claims(t *testing.T, ns string) string {
	l, err := env.Client.CoreV1().PersistentVolumeClaims(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range l.Items {
		out = append(out, c.Name)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestOrderedReadyScaleAndRollingUpdate(t *testing.T) {
	ns := env.Namespace(t)
	var ready atomic.Bool
	env.FakeKubelet(t, ns, func(*corev1.Pod) bool { return ready.Load() })
	start(t)
	createSet(t, ns, 3, nil)
	// db-0 is not ready, so db-1 waits.
	waitPods(t, ns, "db-0:db:1")
	controllertest.Never(t, 700*time.Millisecond, func() (bool, string) { got := pods(t, ns); return got != "db-0:db:1", got })
	ready.Store(true)
	// The fake kubelet only reports a pod once; re-mark db-0 ready.
	p0, _ := env.Client.CoreV1().Pods(ns).Get(context.Background(), "db-0", metav1.GetOptions{})
	env.MarkPodRunning(t, p0, true, "10.244.9.1")
	waitPods(t, ns, "db-0:db:1 db-1:db:1 db-2:db:1")
	if got := claims(t, ns); got != "data-db-0 data-db-1 data-db-2" {
		t.Fatalf("claims %q", got)
	}
	p1, _ := env.Client.CoreV1().Pods(ns).Get(context.Background(), "db-1", metav1.GetOptions{})
	if p1.Spec.Hostname != "db-1" || p1.Spec.Subdomain != "db" || p1.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "data-db-1" || p1.Labels[PodIndexLabel] != "1" {
		t.Fatalf("pod identity: %+v", p1.Spec)
	}

	// Rolling update above partition 1: db-2 and db-1 move, db-0 stays.
	updateSet(t, ns, func(s *appsv1.StatefulSet) {
		one := int32(1)
		s.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: &one}
		s.Spec.Template.Spec.Containers[0].Image = "db:2"
	})
	waitPods(t, ns, "db-0:db:1 db-1:db:2 db-2:db:2")
	updateSet(t, ns, func(s *appsv1.StatefulSet) { zero := int32(0); s.Spec.UpdateStrategy.RollingUpdate.Partition = &zero })
	waitPods(t, ns, "db-0:db:2 db-1:db:2 db-2:db:2")
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		s, _ := env.Client.AppsV1().StatefulSets(ns).Get(context.Background(), "db", metav1.GetOptions{})
		st := s.Status
		return st.CurrentRevision == st.UpdateRevision && st.UpdatedReplicas == 3 && st.ReadyReplicas == 3 && st.ObservedGeneration == s.Generation, fmt.Sprintf("%+v", st)
	})
	revs, _ := env.Client.AppsV1().ControllerRevisions(ns).List(context.Background(), metav1.ListOptions{})
	if len(revs.Items) != 2 {
		t.Fatalf("%d controller revisions, want 2", len(revs.Items))
	}

	// Scale down from the top; claims are retained.
	updateSet(t, ns, func(s *appsv1.StatefulSet) { one := int32(1); s.Spec.Replicas = &one })
	waitPods(t, ns, "db-0:db:2")
	if got := claims(t, ns); got != "data-db-0 data-db-1 data-db-2" {
		t.Fatalf("claims after scale down %q", got)
	}
}

func TestParallelAndClaimOwnership(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	createSet(t, ns, 3, func(s *appsv1.StatefulSet) {
		s.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
		s.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType}
	})
	// Nothing becomes ready, yet all three exist at once.
	waitPods(t, ns, "db-0:db:1 db-1:db:1 db-2:db:1")
	c, err := env.Client.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), "data-db-0", metav1.GetOptions{})
	if err != nil || len(c.OwnerReferences) != 1 || c.OwnerReferences[0].Kind != "StatefulSet" {
		t.Fatalf("claim owner: %v %+v", err, c)
	}
}
