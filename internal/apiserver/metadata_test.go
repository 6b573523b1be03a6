package apiserver_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
)

var configMaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// client-go's metadata client (protobuf, as=PartialObjectMetadata[List]) gets, lists and watches
// objects reduced to their metadata.
func TestMetadataClientAndInformer(t *testing.T) {
	ns := namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mc := metadata.NewForConfigOrDie(cluster.Config)
	cms := cluster.Client.CoreV1().ConfigMaps(ns)
	labelled := cm("labelled", map[string]string{"secret-ish": "value"})
	labelled.Labels = map[string]string{"tier": "web"}
	if _, err := cms.Create(ctx, labelled, createOpts); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Create(ctx, cm("plain", nil), createOpts); err != nil {
		t.Fatal(err)
	}

	got, err := mc.Resource(configMaps).Namespace(ns).Get(ctx, "labelled", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "labelled" || got.Labels["tier"] != "web" || got.UID == "" {
		t.Fatalf("metadata get = %+v", got)
	}
	list, err := mc.Resource(configMaps).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: "tier=web"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "labelled" || list.ResourceVersion == "" {
		t.Fatalf("metadata list = %+v", list)
	}

	factory := metadatainformer.NewFilteredSharedInformerFactory(mc, 0, ns, nil)
	inf := factory.ForResource(configMaps).Informer()
	events := make(chan string, 10)
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { events <- "add " + o.(*metav1.PartialObjectMetadata).Name },
		UpdateFunc: func(_, o any) { events <- "update " + o.(*metav1.PartialObjectMetadata).Labels["tier"] },
		DeleteFunc: func(o any) { events <- "delete" },
	})
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("metadata informer did not sync")
	}
	seen := map[string]bool{<-events: true, <-events: true}
	if !seen["add labelled"] || !seen["add plain"] {
		t.Fatalf("initial events %v", seen)
	}
	plain, err := cms.Get(ctx, "plain", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plain.Labels = map[string]string{"tier": "db"}
	if _, err := cms.Update(ctx, plain, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if e := <-events; e != "update db" {
		t.Fatalf("event %q, want update db", e)
	}
	if err := cms.Delete(ctx, "plain", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if e := <-events; e != "delete" {
		t.Fatalf("event %q, want delete", e)
	}
}

// In JSON, a partial-metadata response carries the metadata and nothing of the object's body.
func TestMetadataAsJSON(t *testing.T) {
	ns := namespace(t)
	ctx := ctx(t)
	if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Create(ctx, cm("c", map[string]string{"k": "v"}), createOpts); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, accept, kind string }{
		{"/api/v1/namespaces/" + ns + "/configmaps/c", "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1", "PartialObjectMetadata"},
		{"/api/v1/namespaces/" + ns + "/configmaps", "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1", "PartialObjectMetadataList"},
	} {
		body, err := cluster.Client.CoreV1().RESTClient().Get().AbsPath(tc.path).SetHeader("Accept", tc.accept).DoRaw(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Kind, APIVersion string
			Data             map[string]string
			Items            []corev1.ConfigMap
		}
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
		if v.Kind != tc.kind || v.APIVersion != "meta.k8s.io/v1" || v.Data != nil || (len(v.Items) == 1) != (tc.kind == "PartialObjectMetadataList") {
			t.Fatalf("%s as %s: %s", tc.path, tc.kind, body)
		}
		if len(v.Items) == 1 && (v.Items[0].Name != "c" || v.Items[0].Data != nil) {
			t.Fatalf("list item: %s", body)
		}
	}
}
