package apply

import (
	"encoding/json"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
)

// TestClientGoApplyRoundTrips applies what client-go's typed Apply sends
// and checks that client-go's Extract, which reads managedFields, gives
// back exactly what the manager applied (controllers rely on this).
func TestClientGoApplyRoundTrips(t *testing.T) {
	m := newManager(t)
	want := appsv1ac.Deployment("web", "default").
		WithLabels(map[string]string{"app": "web"}).
		WithSpec(appsv1ac.DeploymentSpec().
			WithReplicas(3).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{"app": "web"})).
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(map[string]string{"app": "web"}).
				WithSpec(corev1ac.PodSpec().WithContainers(corev1ac.Container().
					WithName("nginx").WithImage("nginx:1").
					WithPorts(corev1ac.ContainerPort().WithContainerPort(80))))))
	body, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Apply(nil, body, deployGVK, "my-controller", true)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	got, err := appsv1ac.ExtractDeployment(out.(*appsv1.Deployment), "my-controller")
	if err != nil {
		t.Fatalf("extract: %v", err)
	}
	if !equality.Semantic.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		t.Errorf("extracted\n %s\nwant\n %s", g, body)
	}
}
