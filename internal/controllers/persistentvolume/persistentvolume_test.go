package persistentvolume

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/controller/controllertest"
)

var env *controllertest.Env

func TestMain(m *testing.M) { controllertest.Main(m, &env) }

func start(t *testing.T) {
	f := env.Factory()
	c, err := New(Config{Client: env.Client, Volumes: f.Core().V1().PersistentVolumes(), Claims: f.Core().V1().PersistentVolumeClaims(),
		Classes: f.Storage().V1().StorageClasses(), LocalPathDir: "/data/storage"})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Run(t, f, c)
}

func createPV(t *testing.T, name, size, class string, policy corev1.PersistentVolumeReclaimPolicy, lbls map[string]string) {
	t.Helper()
	_, err := env.Client.CoreV1().PersistentVolumes().Create(context.Background(), &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls},
		Spec: corev1.PersistentVolumeSpec{
			Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}, StorageClassName: class,
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, PersistentVolumeReclaimPolicy: policy,
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/" + name}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.Client.CoreV1().PersistentVolumes().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

func createPVC(t *testing.T, ns, name, size string, class *string, mutate func(*corev1.PersistentVolumeClaim)) {
	t.Helper()
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeClaimSpec{
		StorageClassName: class, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
	}}
	if mutate != nil {
		mutate(pvc)
	}
	if _, err := env.Client.CoreV1().PersistentVolumeClaims(ns).Create(context.Background(), pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func claim(t *testing.T, ns, name string) *corev1.PersistentVolumeClaim {
	c, err := env.Client.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func waitBound(t *testing.T, ns, name string) *corev1.PersistentVolumeClaim {
	t.Helper()
	var c *corev1.PersistentVolumeClaim
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		c = claim(t, ns, name)
		return c.Status.Phase == corev1.ClaimBound && c.Spec.VolumeName != "", fmt.Sprintf("phase %s volume %q", c.Status.Phase, c.Spec.VolumeName)
	})
	return c
}

func volumePhase(t *testing.T, name string) corev1.PersistentVolumePhase {
	pv, err := env.Client.CoreV1().PersistentVolumes().Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "gone"
	}
	if err != nil {
		t.Fatal(err)
	}
	return pv.Status.Phase
}

func TestStaticBindingPicksSmallestFit(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	manual := "manual-" + ns
	createPV(t, "small-"+ns, "1Gi", manual, corev1.PersistentVolumeReclaimRetain, nil)
	createPV(t, "mid-"+ns, "5Gi", manual, corev1.PersistentVolumeReclaimRetain, nil)
	createPV(t, "big-"+ns, "10Gi", manual, corev1.PersistentVolumeReclaimRetain, map[string]string{"tier": "fast"})
	createPVC(t, ns, "data", "3Gi", &manual, nil)
	c := waitBound(t, ns, "data")
	if c.Spec.VolumeName != "mid-"+ns || c.Status.Capacity.Storage().String() != "5Gi" {
		t.Fatalf("bound to %s with capacity %s", c.Spec.VolumeName, c.Status.Capacity.Storage())
	}
	controllertest.Eventually(t, 5*time.Second, func() (bool, string) {
		p := volumePhase(t, "mid-"+ns)
		return p == corev1.VolumeBound, string(p)
	})
	// A selector narrows the choice; one nothing satisfies stays Pending.
	createPVC(t, ns, "fast", "1Gi", &manual, func(c *corev1.PersistentVolumeClaim) {
		c.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "fast"}}
	})
	if c := waitBound(t, ns, "fast"); c.Spec.VolumeName != "big-"+ns {
		t.Fatalf("selector ignored: bound to %s", c.Spec.VolumeName)
	}
	createPVC(t, ns, "huge", "50Gi", &manual, nil)
	controllertest.Never(t, time.Second, func() (bool, string) {
		c := claim(t, ns, "huge")
		return c.Spec.VolumeName != "", "50Gi claim bound to " + c.Spec.VolumeName
	})
	// Retain: the claim goes, the volume is Released and kept.
	if err := env.Client.CoreV1().PersistentVolumeClaims(ns).Delete(context.Background(), "data", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		p := volumePhase(t, "mid-"+ns)
		return p == corev1.VolumeReleased, string(p)
	})
}

func TestDefaultClassWaitsForFirstConsumerThenProvisions(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	createPVC(t, ns, "www", "2Gi", nil, nil)
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		c := claim(t, ns, "www")
		return c.Spec.StorageClassName != nil && *c.Spec.StorageClassName == DefaultClassName && c.Status.Phase == corev1.ClaimPending,
			fmt.Sprintf("class %v phase %s", c.Spec.StorageClassName, c.Status.Phase)
	})
	controllertest.Never(t, 500*time.Millisecond, func() (bool, string) {
		c := claim(t, ns, "www")
		return c.Spec.VolumeName != "", "provisioned before a node was selected"
	})
	// The scheduler picks a node.
	c := claim(t, ns, "www")
	c.Annotations = map[string]string{annSelectedNode: "node-a"}
	if _, err := env.Client.CoreV1().PersistentVolumeClaims(ns).Update(context.Background(), c, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	c = waitBound(t, ns, "www")
	pv, err := env.Client.CoreV1().PersistentVolumes().Get(context.Background(), c.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	term := pv.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0]
	if !strings.HasPrefix(pv.Spec.HostPath.Path, "/data/storage/pvc-") || term.Key != corev1.LabelHostname || term.Values[0] != "node-a" ||
		pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete {
		t.Fatalf("provisioned volume %+v", pv.Spec)
	}
	// Delete policy: the volume goes with its claim.
	if err := env.Client.CoreV1().PersistentVolumeClaims(ns).Delete(context.Background(), "www", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		p := volumePhase(t, pv.Name)
		return p == "gone", string(p)
	})
}
