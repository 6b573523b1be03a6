package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

// startOnPort starts klite server on a fixed API port, which a restart keeps, as a real address does.
func startOnPort(t *testing.T, dir string, etcdPort, apiPort int) *server {
	t.Helper()
	return startServerArgs(t, dir, etcdPort, "--secure-port", fmt.Sprint(apiPort))
}

// TestInformerRelistsAfterServerRestart: a client-go informer keeps working across a kill -9 and
// restart of klite, and sees what changed while the server was down.
func TestInformerRelistsAfterServerRestart(t *testing.T) {
	dir, etcdPort, apiPort := t.TempDir(), freePort(t), freePort(t)
	s := startOnPort(t, dir, etcdPort, apiPort)
	cfg, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	factory := informers.NewSharedInformerFactory(client, 0)
	inf := factory.Core().V1().ConfigMaps().Informer()
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	defer cancel()
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	if _, err := client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "before"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "informer sees 'before'", func() bool { _, ok, _ := inf.GetStore().GetByKey("default/before"); return ok })

	s.kill()
	s2 := startOnPort(t, dir, etcdPort, apiPort)
	cfg2, _ := clientcmd.BuildConfigFromFlags("", s2.kubeconfig)
	client2 := kubernetes.NewForConfigOrDie(cfg2)
	if _, err := client2.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "after"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_ = client2.CoreV1().ConfigMaps("default").Delete(ctx, "before", metav1.DeleteOptions{})
	waitFor(t, "informer sees 'after' and not 'before' after the restart", func() bool {
		_, after, _ := inf.GetStore().GetByKey("default/after")
		_, before, _ := inf.GetStore().GetByKey("default/before")
		return after && !before
	})
}

func TestDynamicClient(t *testing.T) {
	s := startServer(t, t.TempDir(), freePort(t))
	cfg, _ := clientcmd.BuildConfigFromFlags("", s.kubeconfig)
	dyn := dynamic.NewForConfigOrDie(cfg)
	gvr := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "dyn"},
		"spec": map[string]any{
			"selector": map[string]any{"matchLabels": map[string]any{"app": "dyn"}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": "dyn"}},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "c", "image": "nginx"}}},
			},
		},
	}}
	ctx := context.Background()
	created, err := dyn.Resource(gvr).Namespace("default").Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created.GetUID() == "" {
		t.Fatal("no uid")
	}
	list, err := dyn.Resource(gvr).Namespace("default").List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("dynamic list: %v %v", list, err)
	}
	if strategy, _, _ := unstructured.NestedString(list.Items[0].Object, "spec", "strategy", "type"); strategy != "RollingUpdate" {
		t.Fatalf("defaulted strategy %q", strategy)
	}
	if err := dyn.Resource(gvr).Namespace("default").Delete(ctx, "dyn", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// ServerPreferredResources through the binary's discovery.
	client := kubernetes.NewForConfigOrDie(cfg)
	res, err := client.Discovery().ServerPreferredResources()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range res {
		for _, r := range l.APIResources {
			names = append(names, r.Name)
		}
	}
	for _, want := range []string{"pods", "deployments", "leases", "endpointslices", "clusterroles", "storageclasses"} {
		if !strings.Contains(" "+strings.Join(names, " ")+" ", " "+want+" ") {
			t.Errorf("ServerPreferredResources lacks %s", want)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
