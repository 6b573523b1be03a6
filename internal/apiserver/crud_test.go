package apiserver_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

func TestCreateGetUpdateDelete(t *testing.T) {
	ns := namespace(t)
	cms := cluster.Client.CoreV1().ConfigMaps(ns)
	created, err := cms.Create(ctx(t), cm("a", map[string]string{"k": "v"}), createOpts)
	if err != nil {
		t.Fatal(err)
	}
	if created.UID == "" || created.ResourceVersion == "" || created.CreationTimestamp.IsZero() {
		t.Fatalf("server-owned metadata not set: %+v", created.ObjectMeta)
	}
	got, err := cms.Get(ctx(t), "a", metav1.GetOptions{})
	if err != nil || got.Data["k"] != "v" || got.ResourceVersion != created.ResourceVersion {
		t.Fatalf("get = %+v, %v", got, err)
	}
	if _, err := cms.Create(ctx(t), cm("a", nil), createOpts); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("second create: want AlreadyExists, got %v", err)
	}
	got.Data["k"] = "v2"
	updated, err := cms.Update(ctx(t), got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if updated.ResourceVersion == got.ResourceVersion || updated.UID != created.UID {
		t.Fatalf("update kept resourceVersion or changed uid: %+v", updated.ObjectMeta)
	}
	if err := cms.Delete(ctx(t), "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx(t), "a", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("get after delete: want NotFound, got %v", err)
	}
	if err := cms.Delete(ctx(t), "a", metav1.DeleteOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("second delete: want NotFound, got %v", err)
	}
}

func TestStaleUpdateConflicts(t *testing.T) {
	ns := namespace(t)
	cms := cluster.Client.CoreV1().ConfigMaps(ns)
	v1, err := cms.Create(ctx(t), cm("a", map[string]string{"n": "1"}), createOpts)
	if err != nil {
		t.Fatal(err)
	}
	v2 := v1.DeepCopy()
	v2.Data["n"] = "2"
	if _, err := cms.Update(ctx(t), v2, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	v1.Data["n"] = "stale"
	_, err = cms.Update(ctx(t), v1, metav1.UpdateOptions{})
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "the object has been modified") {
		t.Fatalf("stale update: want Conflict 'the object has been modified', got %v", err)
	}
	got, _ := cms.Get(ctx(t), "a", metav1.GetOptions{})
	if got.Data["n"] != "2" {
		t.Fatalf("stale update changed the object: %v", got.Data)
	}
	// A stale delete precondition conflicts too.
	rv := v1.ResourceVersion
	err = cms.Delete(ctx(t), "a", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
	if !apierrors.IsConflict(err) {
		t.Fatalf("stale delete: want Conflict, got %v", err)
	}
}

func TestGenerateNameAndGeneration(t *testing.T) {
	ns := namespace(t)
	d := deployment("")
	d.GenerateName = "web-"
	created, err := cluster.Client.AppsV1().Deployments(ns).Create(ctx(t), d, createOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(created.Name, "web-") || len(created.Name) != len("web-")+5 {
		t.Fatalf("generated name %q: want web- and 5 characters", created.Name)
	}
	if created.Generation != 1 {
		t.Fatalf("generation on create = %d, want 1", created.Generation)
	}
	created.Labels = map[string]string{"touched": "yes"}
	u1, err := cluster.Client.AppsV1().Deployments(ns).Update(ctx(t), created, metav1.UpdateOptions{})
	if err != nil || u1.Generation != 1 {
		t.Fatalf("metadata-only update: generation %d, err %v; want 1", u1.Generation, err)
	}
	three := int32(3)
	u1.Spec.Replicas = &three
	u2, err := cluster.Client.AppsV1().Deployments(ns).Update(ctx(t), u1, metav1.UpdateOptions{})
	if err != nil || u2.Generation != 2 {
		t.Fatalf("spec update: generation %d, err %v; want 2", u2.Generation, err)
	}
}

func TestStatusSubresource(t *testing.T) {
	ns := namespace(t)
	deps := cluster.Client.AppsV1().Deployments(ns)
	d, err := deps.Create(ctx(t), deployment("web"), createOpts)
	if err != nil {
		t.Fatal(err)
	}
	d.Status.Replicas = 7
	d, err = deps.UpdateStatus(ctx(t), d, metav1.UpdateOptions{})
	if err != nil || d.Status.Replicas != 7 {
		t.Fatalf("status update: %v, replicas %d", err, d.Status.Replicas)
	}
	// The main resource ignores status; the status subresource ignores spec.
	d.Status.Replicas = 1
	d.Labels = map[string]string{"a": "b"}
	d, err = deps.Update(ctx(t), d, metav1.UpdateOptions{})
	if err != nil || d.Status.Replicas != 7 || d.Labels["a"] != "b" {
		t.Fatalf("main update: err %v, status.replicas %d (want 7), labels %v", err, d.Status.Replicas, d.Labels)
	}
	five := int32(5)
	d.Spec.Replicas = &five
	d, err = deps.UpdateStatus(ctx(t), d, metav1.UpdateOptions{})
	if err != nil || *d.Spec.Replicas == 5 {
		t.Fatalf("status update changed spec: err %v, replicas %d", err, *d.Spec.Replicas)
	}
}

func TestScaleSubresource(t *testing.T) {
	ns := namespace(t)
	if _, err := cluster.Client.AppsV1().Deployments(ns).Create(ctx(t), deployment("web"), createOpts); err != nil {
		t.Fatal(err)
	}
	sc, err := cluster.Client.AppsV1().Deployments(ns).GetScale(ctx(t), "web", metav1.GetOptions{})
	if err != nil || sc.Spec.Replicas != 1 || sc.Status.Selector != "app=web" {
		t.Fatalf("get scale: %+v, %v", sc, err)
	}
	sc.Spec.Replicas = 4
	if _, err := cluster.Client.AppsV1().Deployments(ns).UpdateScale(ctx(t), "web", sc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	patch := []byte(`{"spec":{"replicas":6}}`)
	if _, err := cluster.Client.AppsV1().Deployments(ns).Patch(ctx(t), "web", types.MergePatchType, patch, metav1.PatchOptions{}, "scale"); err != nil {
		t.Fatal(err)
	}
	d, _ := cluster.Client.AppsV1().Deployments(ns).Get(ctx(t), "web", metav1.GetOptions{})
	if *d.Spec.Replicas != 6 {
		t.Fatalf("replicas after scale = %d, want 6", *d.Spec.Replicas)
	}
}

func TestPatchTypes(t *testing.T) {
	ns := namespace(t)
	deps := cluster.Client.AppsV1().Deployments(ns)
	if _, err := deps.Create(ctx(t), deployment("web"), createOpts); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		pt    types.PatchType
		patch string
		check func(*appsv1.Deployment) bool
	}{
		{"json patch", types.JSONPatchType, `[{"op":"add","path":"/metadata/labels","value":{"j":"1"}}]`, func(d *appsv1.Deployment) bool { return d.Labels["j"] == "1" }},
		{"merge patch", types.MergePatchType, `{"metadata":{"annotations":{"m":"2"}}}`, func(d *appsv1.Deployment) bool { return d.Annotations["m"] == "2" && d.Labels["j"] == "1" }},
		{"strategic merge adds a container by name", types.StrategicMergePatchType, `{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox"}]}}}}`,
			func(d *appsv1.Deployment) bool { return len(d.Spec.Template.Spec.Containers) == 2 }},
		{"strategic merge changes an image by name", types.StrategicMergePatchType, `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:2"}]}}}}`,
			func(d *appsv1.Deployment) bool {
				return len(d.Spec.Template.Spec.Containers) == 2 && imageOf(d, "web") == "nginx:2" && imageOf(d, "side") == "busybox"
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := deps.Patch(ctx(t), "web", tc.pt, []byte(tc.patch), metav1.PatchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(d) {
				t.Fatalf("patch not applied: %+v", d)
			}
		})
	}
	_, err := deps.Patch(ctx(t), "web", types.JSONPatchType, []byte(`[{"op":"test","path":"/metadata/name","value":"other"}]`), metav1.PatchOptions{})
	if err == nil || apierrors.ReasonForError(err) == metav1.StatusReasonUnknown && !strings.Contains(err.Error(), "test") {
		t.Fatalf("failing json patch test op: want an error, got %v", err)
	}
}

func TestDryRunStoresNothing(t *testing.T) {
	ns := namespace(t)
	cms := cluster.Client.CoreV1().ConfigMaps(ns)
	if _, err := cms.Create(ctx(t), cm("dry", nil), metav1.CreateOptions{DryRun: []string{"All"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx(t), "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("dry-run create stored the object: %v", err)
	}
	c, _ := cms.Create(ctx(t), cm("real", map[string]string{"a": "1"}), createOpts)
	c.Data["a"] = "2"
	if _, err := cms.Update(ctx(t), c, metav1.UpdateOptions{DryRun: []string{"All"}}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx(t), "real", metav1.DeleteOptions{DryRun: []string{"All"}}); err != nil {
		t.Fatal(err)
	}
	got, err := cms.Get(ctx(t), "real", metav1.GetOptions{})
	if err != nil || got.Data["a"] != "1" {
		t.Fatalf("dry-run update/delete changed the object: %v %v", got, err)
	}
}

func deployment(name string) *appsv1.Deployment {
	one := int32(1)
	labels := map[string]string{"app": "web"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}},
			},
		},
	}
}

func imageOf(d *appsv1.Deployment, container string) string {
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == container {
			return c.Image
		}
	}
	return ""
}

var _ = strconv.Itoa

// A read-modify-write right after a write the watch cache has not seen yet (straight into etcd)
// is decided on the current object: a precondition that holds on it does not fail on the
// cache's older copy.
func TestUpdateJustAfterAWriteTheCacheHasNotSeen(t *testing.T) {
	ns := namespace(t)
	cms := cluster.Client.CoreV1().ConfigMaps(ns)
	if _, err := cms.Create(ctx(t), cm("fresh", map[string]string{"n": "0"}), createOpts); err != nil {
		t.Fatal(err)
	}
	key := "/registry/configmaps/" + ns + "/fresh"
	for i := 1; i <= 20; i++ {
		kv, err := cluster.Store.Get(ctx(t), key)
		if err != nil {
			t.Fatal(err)
		}
		var stored corev1.ConfigMap
		if err := json.Unmarshal(kv.Value, &stored); err != nil {
			t.Fatal(err)
		}
		stored.Data["n"] = fmt.Sprint(i)
		b, _ := json.Marshal(&stored)
		rev, err := cluster.Store.Update(ctx(t), key, b, kv.Revision)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprint(rev)
		got, err := cluster.Server.GuaranteedUpdate(ctx(t), "configmaps", ns, "fresh", func(cur runtime.Object) (runtime.Object, error) {
			c := cur.(*corev1.ConfigMap)
			if c.ResourceVersion != want {
				return nil, apierrors.NewConflict(schema.GroupResource{Resource: "configmaps"}, "fresh", errors.New("stale"))
			}
			next := c.DeepCopy()
			next.Data["by-client"] = fmt.Sprint(i)
			return next, nil
		})
		if err != nil {
			t.Fatalf("update %d at the newest resourceVersion: %v", i, err)
		}
		if d := got.(*corev1.ConfigMap).Data; d["n"] != fmt.Sprint(i) || d["by-client"] != fmt.Sprint(i) {
			t.Fatalf("update %d stored %v", i, d)
		}
	}
}
