package resourcequota

import (
	"context"
	"fmt"
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

func startController(t *testing.T) {
	t.Helper()
	f := env.Factory()
	c, err := New(Config{Client: env.Client, Quotas: f.Core().V1().ResourceQuotas(), Pods: f.Core().V1().Pods(), Services: f.Core().V1().Services(),
		ConfigMaps: f.Core().V1().ConfigMaps(), Secrets: f.Core().V1().Secrets(), Claims: f.Core().V1().PersistentVolumeClaims(),
		ReplicationControllers: f.Core().V1().ReplicationControllers(), Resync: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Run(t, f, c)
}

// waitUsed waits until quota name in ns reports exactly want as status.used.
func waitUsed(t *testing.T, ns, name string, want map[corev1.ResourceName]string) {
	t.Helper()
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		q, err := env.Client.CoreV1().ResourceQuotas(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for k, v := range want {
			got, ok := q.Status.Used[k]
			if !ok || got.Cmp(resource.MustParse(v)) != 0 {
				return false, fmt.Sprintf("%s used %s, want %s (all %v)", k, got.String(), v, q.Status.Used)
			}
		}
		return len(q.Status.Used) == len(want), fmt.Sprintf("used %v, want %v", q.Status.Used, want)
	})
}

func TestScopesServicesAndOtherResources(t *testing.T) {
	ns := env.Namespace(t)
	startController(t)
	ctx := context.Background()
	mk := func(name string, hard corev1.ResourceList, scopes ...corev1.ResourceQuotaScope) {
		q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.ResourceQuotaSpec{Hard: hard, Scopes: scopes}}
		if _, err := env.Client.CoreV1().ResourceQuotas(ns).Create(ctx, q, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mk("all", corev1.ResourceList{"count/deployments.apps": resource.MustParse("5"), "services.nodeports": resource.MustParse("5"), "resourcequotas": resource.MustParse("5")})
	mk("besteffort", corev1.ResourceList{"pods": resource.MustParse("5")}, corev1.ResourceQuotaScopeBestEffort)
	for _, p := range []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "be"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "burst"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1m")}}}}}},
	} {
		if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "np"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort,
		Ports: []corev1.ServicePort{{Name: "a", Port: 80}, {Name: "b", Port: 81}}}}
	if _, err := env.Client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	one := int32(1)
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: appsv1.DeploymentSpec{Replicas: &one,
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}}}}
	if _, err := env.Client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUsed(t, ns, "all", map[corev1.ResourceName]string{"count/deployments.apps": "1", "services.nodeports": "2", "resourcequotas": "2"})
	waitUsed(t, ns, "besteffort", map[corev1.ResourceName]string{"pods": "1"})
}

func TestUsageTracksNamespaceContent(t *testing.T) {
	ns := env.Namespace(t)
	startController(t)
	ctx := context.Background()
	hard := corev1.ResourceList{"pods": resource.MustParse("5"), "requests.cpu": resource.MustParse("2"), "limits.memory": resource.MustParse("1Gi"),
		"configmaps": resource.MustParse("10"), "count/secrets": resource.MustParse("5"), "requests.storage": resource.MustParse("10Gi")}
	if _, err := env.Client.CoreV1().ResourceQuotas(ns).Create(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "q"}, Spec: corev1.ResourceQuotaSpec{Hard: hard}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		_, err := env.Client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i)}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c", Image: "x", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
			}}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	// A finished pod no longer counts.
	p2, _ := env.Client.CoreV1().Pods(ns).Get(ctx, "p2", metav1.GetOptions{})
	p2.Status.Phase = corev1.PodSucceeded
	if _, err := env.Client.CoreV1().Pods(ns).UpdateStatus(ctx, p2, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("3Gi")}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	want := map[corev1.ResourceName]string{"pods": "2", "requests.cpu": "1", "limits.memory": "256Mi", "configmaps": "1", "count/secrets": "0", "requests.storage": "3Gi"}
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		q, err := env.Client.CoreV1().ResourceQuotas(ns).Get(ctx, "q", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for k, v := range want {
			got := q.Status.Used[k]
			if got.Cmp(resource.MustParse(v)) != 0 {
				return false, fmt.Sprintf("%s used %s, want %s (all %v)", k, got.String(), v, q.Status.Used)
			}
		}
		return len(q.Status.Hard) == len(hard), fmt.Sprintf("hard %v", q.Status.Hard)
	})
}
