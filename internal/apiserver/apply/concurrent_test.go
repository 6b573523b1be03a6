package apply

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestConcurrentUse runs applies and updates of separate objects from
// several goroutines on one Manager; with -race it proves the Manager
// shares no mutable state between requests and leaves live objects alone.
func TestConcurrentUse(t *testing.T) {
	m := newManager(t)
	shared, err := m.Apply(nil, []byte(deployYAML(2, "", "nginx=nginx:1")), deployGVK, "a", false)
	if err != nil {
		t.Fatal(err)
	}
	shared = stored(shared)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- useConcurrently(m, shared, g)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := *shared.(*appsv1.Deployment).Spec.Replicas; got != 2 {
		t.Errorf("the shared live object changed: replicas %d", got)
	}
}

func useConcurrently(m *Manager, shared any, g int) error {
	live := shared.(*appsv1.Deployment)
	for i := range 5 {
		patch := deployYAML(3+i, "", "nginx=nginx:1")
		out, err := m.Apply(live, []byte(patch), deployGVK, fmt.Sprintf("g%d", g), true)
		if err != nil {
			return err
		}
		next := out.DeepCopyObject().(*appsv1.Deployment)
		next.Status.Replicas = int32(i)
		if _, err := m.UpdateSubresource(out, next, deployGVK, Status, "controller"); err != nil {
			return err
		}
	}
	return nil
}

// TestConcurrentUpdates runs the update shortcut over one shared pod from
// several goroutines; each result must be the general path's, and with
// -race the shared cache of decoded entries must hold.
func TestConcurrentUpdates(t *testing.T) {
	m := newUpdateManager(t)
	live := runningPod(t, m).live()
	changes := []func(runtime.Object){kubeletTerminated, podNotReady, podMessage, noChange}
	want := make([]string, len(changes))
	for i, c := range changes {
		next := live.DeepCopyObject()
		c(next)
		want[i] = fieldsOf(generalUpdate(t, m, live.DeepCopyObject(), next, podGVK, Status, "kubelet"))
	}
	got := make([][]string, 4)
	var wg sync.WaitGroup
	for g := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				for _, c := range changes {
					next := live.DeepCopyObject()
					c(next)
					out, err := m.UpdateSubresource(live, next, podGVK, Status, "kubelet")
					if err != nil {
						got[g] = append(got[g], err.Error())
						continue
					}
					got[g] = append(got[g], fieldsOf(out))
				}
			}
		}()
	}
	wg.Wait()
	for g := range got {
		for i, f := range got[g] {
			if f != want[i%len(want)] {
				t.Fatalf("goroutine %d write %d: %s\nwant %s", g, i, f, want[i%len(want)])
			}
		}
	}
}

// fieldsOf lists obj's entries' managers and fieldsV1.
func fieldsOf(obj runtime.Object) string {
	m, _ := meta.Accessor(obj)
	var b strings.Builder
	for _, e := range m.GetManagedFields() {
		fmt.Fprintf(&b, "%s %s %s\n", e.Manager, e.Subresource, e.FieldsV1.Raw)
	}
	return b.String()
}
