package resourcequota

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/controller/controllertest"
)

var env *controllertest.Env

func TestMain(m *testing.M) { controllertest.Main(m, &env) }

func TestUsageTracksNamespaceContent(t *testing.T) {
	ns := env.Namespace(t)
	f := env.Factory()
	c, err := New(Config{Client: env.Client, Quotas: f.Core().V1().ResourceQuotas(), Pods: f.Core().V1().Pods(), Services: f.Core().V1().Services(),
		ConfigMaps: f.Core().V1().ConfigMaps(), Secrets: f.Core().V1().Secrets(), Claims: f.Core().V1().PersistentVolumeClaims(),
		ReplicationControllers: f.Core().V1().ReplicationControllers()})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Run(t, f, c)
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
