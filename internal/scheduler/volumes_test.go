package scheduler_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func (b *podBuilder) claim(name string) *podBuilder {
	b.p.Spec.Volumes = append(b.p.Spec.Volumes, corev1.Volume{Name: name,
		VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}}})
	return b
}

func storageClass(t *testing.T, name string, mode storagev1.VolumeBindingMode) {
	t.Helper()
	_, err := cluster.Client.StorageV1().StorageClasses().Create(context.Background(), &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: "kubernetes.io/no-provisioner", VolumeBindingMode: &mode,
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// localPV is a 1Gi volume of class reachable only from node.
func localPV(t *testing.T, name, class, node string) {
	t.Helper()
	_, err := cluster.Client.CoreV1().PersistentVolumes().Create(context.Background(), &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName:       class,
			PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/mnt/" + name}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
			}}}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func pvc(t *testing.T, ns, name, class, volume string) {
	t.Helper()
	_, err := cluster.Client.CoreV1().PersistentVolumeClaims(ns).Create(context.Background(), &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: &class, VolumeName: volume,
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("500Mi")}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func TestVolumes(t *testing.T) {
	storageClass(t, "test-immediate", storagev1.VolumeBindingImmediate)
	storageClass(t, "test-wffc", storagev1.VolumeBindingWaitForFirstConsumer)
	localPV(t, "pv-bound-big-1", "test-immediate", "big-1")
	localPV(t, "pv-wffc-small-1", "test-wffc", "small-1")
	notHelpful7 := " preemption: 0/7 nodes are available: 7 " + notHelpful + "."
	tests := []struct {
		name     string
		claims   func(t *testing.T, ns string)
		wantNode string
		wantMsg  string
	}{
		{name: "missing claim", claims: func(*testing.T, string) {},
			wantMsg: `0/7 nodes are available: persistentvolumeclaim "data" not found.` + notHelpful7},
		{name: "unbound immediate claim", claims: func(t *testing.T, ns string) { pvc(t, ns, "data", "test-immediate", "") },
			wantMsg: "0/7 nodes are available: pod has unbound immediate PersistentVolumeClaims." + notHelpful7},
		{name: "bound volume pins the node", claims: func(t *testing.T, ns string) { pvc(t, ns, "data", "test-immediate", "pv-bound-big-1") },
			wantNode: "big-1"},
		{name: "wait for first consumer finds the local volume", claims: func(t *testing.T, ns string) { pvc(t, ns, "data", "test-wffc", "") },
			wantNode: "small-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := namespace(t)
			tc.claims(t, ns)
			create(t, makePod(ns, "p").claim("data").obj())
			if tc.wantNode == "" {
				if got := waitUnschedulable(t, ns, "p"); got != tc.wantMsg {
					t.Fatalf("message:\n got %q\nwant %q", got, tc.wantMsg)
				}
				return
			}
			if node := waitBound(t, cluster.Client, ns, "p"); node != tc.wantNode {
				t.Fatalf("bound to %s, want %s", node, tc.wantNode)
			}
		})
	}
	pv, err := cluster.Client.CoreV1().PersistentVolumes().Get(context.Background(), "pv-wffc-small-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.Name != "data" {
		t.Errorf("delayed-binding volume not claimed: %+v", pv.Spec.ClaimRef)
	}
}
