package deployment

// Integration tests of the Deployment controller run in internal/app/controllermanager, where
// it works with the ReplicaSet controller and the real kubectl; these cover its arithmetic.

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func deploy(replicas int32, surge, unavailable string) *appsv1.Deployment {
	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &replicas}}
	s, u := intstr.Parse(surge), intstr.Parse(unavailable)
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &s, MaxUnavailable: &u}}
	return d
}

func rs(n int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Replicas: &n}}
}

func TestSurgeAndUnavailable(t *testing.T) {
	tests := []struct {
		name               string
		d                  *appsv1.Deployment
		surge, unavailable int32
	}{
		{"defaults 25% of 10 round surge up, unavailable down", deploy(10, "25%", "25%"), 3, 2},
		{"absolute", deploy(5, "2", "1"), 2, 1},
		{"both zero forces one unavailable", deploy(3, "0", "0"), 0, 1},
		{"unavailable capped at replicas", deploy(2, "0", "5"), 0, 2},
		{"recreate", &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(4)), Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}}, 0, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &pass{d: tc.d}
			if s, u := p.maxSurge(), p.maxUnavailable(); s != tc.surge || u != tc.unavailable {
				t.Fatalf("surge %d unavailable %d, want %d %d", s, u, tc.surge, tc.unavailable)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestNewRSSize(t *testing.T) {
	tests := []struct {
		name  string
		d     *appsv1.Deployment
		newRS int32
		old   []int32
		want  int32
	}{
		{"fresh rollout surges by maxSurge", deploy(4, "1", "0"), 0, []int32{4}, 1},
		{"at the surge limit waits", deploy(4, "1", "0"), 1, []int32{4}, 1},
		{"old scaled down makes room", deploy(4, "1", "0"), 1, []int32{3}, 2},
		{"never above replicas", deploy(4, "10", "0"), 0, []int32{1}, 4},
		{"first rollout", deploy(3, "25%", "25%"), 0, nil, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &pass{d: tc.d, newRS: rs(tc.newRS)}
			for _, o := range tc.old {
				p.old = append(p.old, rs(o))
			}
			if got := p.newRSSize(); got != tc.want {
				t.Fatalf("newRSSize = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestProportionalSizes(t *testing.T) {
	tests := []struct {
		name    string
		sizes   []int32
		before  []int32
		allowed int32
		want    []int32
	}{
		{"grow 6 to 10", []int32{4, 2}, []int32{6, 6}, 10, []int32{7, 3}},
		{"resume after a partial pass", []int32{7, 2}, []int32{10, 6}, 10, []int32{7, 3}},
		{"shrink 9 to 6", []int32{6, 3}, []int32{9, 9}, 6, []int32{4, 2}},
		{"one set", []int32{5}, []int32{5}, 7, []int32{7}},
		{"rounding leftover to the largest", []int32{3, 3, 3}, []int32{9, 9, 9}, 10, []int32{4, 3, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := proportionalSizes(tc.sizes, tc.before, tc.allowed)
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestTemplateIdentity(t *testing.T) {
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "a"}}}}
	withHash := tmpl.DeepCopy()
	withHash.Labels[HashLabel] = "abc"
	if !sameTemplate(withHash, &tmpl) {
		t.Fatal("hash label should not matter")
	}
	other := tmpl.DeepCopy()
	other.Spec.Containers[0].Image = "b"
	if sameTemplate(other, &tmpl) || templateHash(other, nil) == templateHash(&tmpl, nil) {
		t.Fatal("different images look the same")
	}
	if templateHash(&tmpl, nil) != templateHash(tmpl.DeepCopy(), nil) || templateHash(&tmpl, ptr(int32(1))) == templateHash(&tmpl, nil) {
		t.Fatal("hash must be stable and change with the collision count")
	}
}
