package apiserver_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

func TestSharedInformerSeesAddUpdateDelete(t *testing.T) {
	ns := namespace(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	factory := informers.NewSharedInformerFactoryWithOptions(cluster.Client, 0, informers.WithNamespace(ns))
	inf := factory.Core().V1().ConfigMaps().Informer()
	events := make(chan string, 10)
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { events <- "add " + obj.(*corev1.ConfigMap).Name },
		UpdateFunc: func(_, obj any) { events <- "update " + obj.(*corev1.ConfigMap).Data["v"] },
		DeleteFunc: func(obj any) { events <- "delete" },
	})
	if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Create(ctx, cm("before", nil), createOpts); err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	expect := func(want string) {
		t.Helper()
		select {
		case got := <-events:
			if got != want {
				t.Fatalf("informer event %q, want %q", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no informer event, want %q", want)
		}
	}
	expect("add before")
	c, _ := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "before", metav1.GetOptions{})
	c.Data = map[string]string{"v": "2"}
	if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Update(ctx, c, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("update 2")
	if err := cluster.Client.CoreV1().ConfigMaps(ns).Delete(ctx, "before", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("delete")
	cancel()
	factory.Shutdown()
}

func TestLeaseLeaderElectionAcquiresAndRenews(t *testing.T) {
	ns := namespace(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Name: "leader", Namespace: ns},
		Client:     cluster.Client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: "candidate-1"},
	}
	started := make(chan struct{})
	done := make(chan struct{})
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: lock, LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 200 * time.Millisecond,
		ReleaseOnCancel: true,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) { close(started) },
			OnStoppedLeading: func() {},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	go func() { le.Run(ctx); close(done) }()
	select {
	case <-started:
	case <-time.After(15 * time.Second):
		t.Fatal("did not acquire the lease")
	}
	first, err := cluster.Client.CoordinationV1().Leases(ns).Get(ctx, "leader", metav1.GetOptions{})
	if err != nil || *first.Spec.HolderIdentity != "candidate-1" {
		t.Fatalf("lease after acquiring: %+v %v", first, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		cur, err := cluster.Client.CoordinationV1().Leases(ns).Get(ctx, "leader", metav1.GetOptions{})
		if err == nil && cur.Spec.RenewTime.After(first.Spec.RenewTime.Time) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("lease was not renewed")
		}
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	<-done
}

func TestDiscoveryClient(t *testing.T) {
	// client-go's discovery client asks for aggregated discovery first.
	groups, resources, err := cluster.Client.Discovery().ServerGroupsAndResources()
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) < 10 {
		t.Fatalf("only %d groups discovered", len(groups))
	}
	found := map[string]metav1.APIResource{}
	for _, list := range resources {
		for _, r := range list.APIResources {
			found[list.GroupVersion+"/"+r.Name] = r
		}
	}
	for key, shortName := range map[string]string{"v1/pods": "po", "apps/v1/deployments": "deploy", "v1/services": "svc", "batch/v1/cronjobs": "cj"} {
		r, ok := found[key]
		if !ok || len(r.ShortNames) == 0 || r.ShortNames[0] != shortName {
			t.Errorf("%s: %+v, want short name %s", key, r, shortName)
		}
	}
	for _, sub := range []string{"v1/pods/status", "v1/pods/binding", "v1/pods/eviction", "apps/v1/deployments/scale", "v1/serviceaccounts/token"} {
		if _, ok := found[sub]; !ok {
			t.Errorf("subresource %s not discovered", sub)
		}
	}
	preferred, err := cluster.Client.Discovery().ServerPreferredResources()
	if err != nil || len(preferred) == 0 {
		t.Fatalf("ServerPreferredResources: %v", err)
	}
}
