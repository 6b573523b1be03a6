package apply

import (
	"fmt"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
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
