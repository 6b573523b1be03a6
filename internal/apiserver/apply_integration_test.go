package apiserver_test

import (
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
)

func webDeployment(ns string, replicas int32, image string) *appsv1ac.DeploymentApplyConfiguration {
	return appsv1ac.Deployment("web", ns).WithSpec(appsv1ac.DeploymentSpec().WithReplicas(replicas).
		WithSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{"app": "web"})).
		WithTemplate(corev1ac.PodTemplateSpec().WithLabels(map[string]string{"app": "web"}).
			WithSpec(corev1ac.PodSpec().WithContainers(corev1ac.Container().WithName("nginx").WithImage(image)))))
}

// owners lists "manager operation subresource" of each managedFields entry.
func owners(fields []metav1.ManagedFieldsEntry) []string {
	var out []string
	for _, f := range fields {
		out = append(out, f.Manager+" "+string(f.Operation)+" "+f.Subresource)
	}
	return out
}

func TestServerSideApply(t *testing.T) {
	ns := namespace(t)
	deps := cluster.Client.AppsV1().Deployments(ns)
	created, err := deps.Apply(ctx(t), webDeployment(ns, 2, "nginx:1"), metav1.ApplyOptions{FieldManager: "a"})
	if err != nil {
		t.Fatalf("apply to create: %v", err)
	}
	if got := owners(created.ManagedFields); len(got) != 1 || got[0] != "a Apply " {
		t.Fatalf("managedFields after create %v", got)
	}
	_, err = deps.Apply(ctx(t), webDeployment(ns, 3, "nginx:1"), metav1.ApplyOptions{FieldManager: "b"})
	if !apierrors.IsConflict(err) || err.Error() != `Apply failed with 1 conflict: conflict with "a": .spec.replicas` {
		t.Fatalf("conflicting apply: %v", err)
	}
	forced, err := deps.Apply(ctx(t), webDeployment(ns, 3, "nginx:1"), metav1.ApplyOptions{FieldManager: "b", Force: true})
	if err != nil || *forced.Spec.Replicas != 3 {
		t.Fatalf("forced apply: %v", err)
	}
	_, err = deps.UpdateScale(ctx(t), "web", &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: autoscalingv1.ScaleSpec{Replicas: 5}}, metav1.UpdateOptions{FieldManager: "scaler"})
	if err != nil {
		t.Fatalf("scale: %v", err)
	}
	got, err := deps.Get(ctx(t), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if o := owners(got.ManagedFields); len(o) != 3 || o[2] != "scaler Update scale" {
		t.Errorf("managedFields after scale %v", o)
	}
}

func TestApplyPatchOptionsAreValidated(t *testing.T) {
	ns := namespace(t)
	rest := cluster.Client.CoreV1().RESTClient()
	body := []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}`)
	err := rest.Patch(types.ApplyPatchType).Namespace(ns).Resource("configmaps").Name("c").Body(body).Do(ctx(t)).Error()
	if !apierrors.IsInvalid(err) {
		t.Errorf("apply without fieldManager: %v, want 422", err)
	}
	err = rest.Patch(types.MergePatchType).Namespace(ns).Resource("configmaps").Name("c").Param("force", "true").Body([]byte(`{}`)).Do(ctx(t)).Error()
	if !apierrors.IsInvalid(err) {
		t.Errorf("merge patch with force: %v, want 422", err)
	}
	var code int
	err = rest.Patch(types.ApplyPatchType).Namespace(ns).Resource("configmaps").Name("c").Param("fieldManager", "m").Body(body).Do(ctx(t)).StatusCode(&code).Error()
	if err != nil || code != 201 {
		t.Errorf("apply creating: %v, code %d, want 201", err, code)
	}
}
