package apiserver_test

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// TestJSONAndProtobufClients runs the same writes, list and watch with a JSON-only client and a
// protobuf-only client: both request and response encodings, watch framing included.
func TestJSONAndProtobufClients(t *testing.T) {
	for _, ct := range []string{"application/json", "application/vnd.kubernetes.protobuf"} {
		t.Run(ct, func(t *testing.T) {
			cfg := rest.CopyConfig(cluster.Config)
			cfg.ContentType, cfg.AcceptContentTypes = ct, ct
			client := kubernetes.NewForConfigOrDie(cfg)
			ns := namespace(t)
			w, err := client.CoreV1().Pods(ns).Watch(ctx(t), metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			created, err := client.CoreV1().Pods(ns).Create(ctx(t), pod("p").labels("a", "b").obj(), createOpts)
			if err != nil {
				t.Fatal(err)
			}
			if ev := next(t, w); ev.Type != watch.Added {
				t.Fatalf("watch event %s", ev.Type)
			}
			list, err := client.CoreV1().Pods(ns).List(ctx(t), metav1.ListOptions{})
			if err != nil || len(list.Items) != 1 || list.Items[0].UID != created.UID || list.ResourceVersion == "" {
				t.Fatalf("list: %+v %v", list, err)
			}
			if err := client.CoreV1().Pods(ns).Delete(ctx(t), "p", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			if ev := next(t, w); ev.Type != watch.Deleted {
				t.Fatalf("watch event %s", ev.Type)
			}
			_, err = client.CoreV1().Pods(ns).Get(ctx(t), "p", metav1.GetOptions{})
			if err == nil {
				t.Fatal("get after delete succeeded")
			}
		})
	}
}
