package apiserver_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/klite/klite/internal/apiserver/apiservertest"
)

// raw sends a request with an arbitrary body and returns the status code, the decoded Status (for
// errors) and the response headers.
func raw(t *testing.T, method, path, contentType string, body []byte) (int, *metav1.Status, http.Header) {
	t.Helper()
	transport, err := rest.TransportFor(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, cluster.Config.Host+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode < 300 {
		return resp.StatusCode, nil, resp.Header
	}
	var st metav1.Status
	if err := jsonUnmarshal(data, &st); err != nil || st.Kind != "Status" {
		t.Fatalf("error response is not a Status: %s", data)
	}
	return resp.StatusCode, &st, resp.Header
}

func TestBadInputGetsUpstreamErrorsAndChangesNothing(t *testing.T) {
	ns := namespace(t)
	base := "/api/v1/namespaces/" + ns + "/configmaps"
	big := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"x":"` + strings.Repeat("a", 4<<20) + `"}}`
	cases := []struct {
		name, method, path, ct, body string
		code                         int
		reason                       metav1.StatusReason
	}{
		{"malformed json", "POST", base, "application/json", `{"apiVersion":"v1",`, 400, metav1.StatusReasonBadRequest},
		{"malformed yaml", "POST", base, "application/yaml", "apiVersion: v1\nkind: [", 400, metav1.StatusReasonBadRequest},
		{"wrong kind", "POST", base, "application/json", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}`, 400, metav1.StatusReasonBadRequest},
		{"wrong apiVersion", "POST", base, "application/json", `{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"x"}}`, 400, metav1.StatusReasonBadRequest},
		{"namespace mismatch", "POST", base, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"other"}}`, 400, metav1.StatusReasonBadRequest},
		{"invalid name", "POST", base, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Not_Valid"}}`, 422, metav1.StatusReasonInvalid},
		{"missing name", "POST", base, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}`, 422, metav1.StatusReasonInvalid},
		{"unknown field strict", "POST", base + "?fieldValidation=Strict", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"bogus":1}`, 400, metav1.StatusReasonBadRequest},
		{"oversized body", "POST", base, "application/json", big, 413, metav1.StatusReasonRequestEntityTooLarge},
		{"unsupported media type", "POST", base, "text/plain", `hello`, 415, metav1.StatusReasonUnsupportedMediaType},
		{"post to a named object", "POST", base + "/x", "application/json", `{}`, 405, metav1.StatusReasonMethodNotAllowed},
		{"name mismatch on update", "PUT", base + "/x", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"y"}}`, 400, metav1.StatusReasonBadRequest},
		{"unknown resource", "GET", "/api/v1/namespaces/" + ns + "/widgets", "", ``, 404, metav1.StatusReasonNotFound},
		{"unknown patch type", "PATCH", base + "/x", "application/foo", `{}`, 415, metav1.StatusReasonUnsupportedMediaType},
	}
	// "x" exists so that update and patch reach the body checks.
	if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Create(ctx(t), cm("x", map[string]string{"keep": "me"}), createOpts); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, st, _ := raw(t, tc.method, tc.path, tc.ct, []byte(tc.body))
			if code != tc.code || st == nil || st.Reason != tc.reason || st.Code != int32(tc.code) {
				t.Fatalf("got %d %+v, want %d %s", code, st, tc.code, tc.reason)
			}
		})
	}
	list, err := cluster.Client.CoreV1().ConfigMaps(ns).List(ctx(t), metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 || list.Items[0].Data["keep"] != "me" {
		t.Fatalf("bad input changed stored state: %+v %v", list.Items, err)
	}
}

func TestInvalidCarriesFieldCauses(t *testing.T) {
	ns := namespace(t)
	_, err := cluster.Client.CoreV1().ConfigMaps(ns).Create(ctx(t), cm("Bad_Name", nil), createOpts)
	st, ok := err.(apierrors.APIStatus)
	if !ok || st.Status().Code != 422 || st.Status().Details == nil || len(st.Status().Details.Causes) == 0 || st.Status().Details.Causes[0].Field != "metadata.name" {
		t.Fatalf("want 422 with a metadata.name cause, got %#v", err)
	}
}

func TestUnknownFieldWarnsByDefault(t *testing.T) {
	ns := namespace(t)
	body := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w"},"bogus":1}`
	code, _, hdr := raw(t, "POST", "/api/v1/namespaces/"+ns+"/configmaps", "application/json", []byte(body))
	if code != 201 || !strings.Contains(hdr.Get("Warning"), `unknown field \"bogus\"`) {
		t.Fatalf("got %d, Warning %q; want 201 with an unknown-field warning", code, hdr.Get("Warning"))
	}
}

func TestAnonymousRequestsAreUnauthorized(t *testing.T) {
	anon := rest.AnonymousClientConfig(cluster.Config)
	transport, _ := rest.TransportFor(anon)
	client := &http.Client{Transport: transport}
	for path, want := range map[string]int{"/api/v1/pods": 401, "/healthz": 200, "/readyz": 200, "/livez": 200, "/version": 200} {
		resp, err := client.Get(cluster.Config.Host + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("anonymous GET %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
}

func TestValidationAndDefaultsRunOnWrites(t *testing.T) {
	ns := namespace(t)
	d := deployment("mismatch")
	d.Spec.Template.Labels = map[string]string{"app": "other"}
	_, err := cluster.Client.AppsV1().Deployments(ns).Create(ctx(t), d, createOpts)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "does not match template") {
		t.Fatalf("selector not matching template labels: want Invalid, got %v", err)
	}
	created, err := cluster.Client.AppsV1().Deployments(ns).Create(ctx(t), deployment("ok"), createOpts)
	if err != nil {
		t.Fatal(err)
	}
	spec := created.Spec.Template.Spec
	if created.Spec.Strategy.Type != "RollingUpdate" || spec.RestartPolicy != "Always" || spec.DNSPolicy != "ClusterFirst" ||
		spec.Containers[0].ImagePullPolicy != "Always" || *spec.TerminationGracePeriodSeconds != 30 {
		t.Fatalf("defaults not applied: %+v", created.Spec)
	}
	sel := created.DeepCopy()
	sel.Spec.Selector.MatchLabels = map[string]string{"app": "changed"}
	sel.Spec.Template.Labels = map[string]string{"app": "changed"}
	if _, err := cluster.Client.AppsV1().Deployments(ns).Update(ctx(t), sel, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("changing an immutable selector: want Invalid, got %v", err)
	}
}

// TestDeadEtcd stops etcd under a running server: requests fail with a timeout or unavailable
// Status instead of hanging, and /readyz reports etcd.
func TestDeadEtcd(t *testing.T) {
	c := apiservertest.StartT(t, apiservertest.Options{})
	if _, err := c.Client.CoreV1().ConfigMaps("default").Create(ctx(t), cm("before", nil), createOpts); err != nil {
		t.Fatal(err)
	}
	c.Etcd.Close()
	cfg := rest.CopyConfig(c.Config)
	cfg.Timeout = 3 * time.Second
	client := kubernetes.NewForConfigOrDie(cfg)
	start := time.Now()
	_, err := client.CoreV1().ConfigMaps("default").Create(context.Background(), cm("after", nil), createOpts)
	if err == nil {
		t.Fatal("create with etcd down succeeded")
	}
	if time.Since(start) > 20*time.Second {
		t.Fatalf("create with etcd down took %v", time.Since(start))
	}
	if !apierrors.IsTimeout(err) && !apierrors.IsServiceUnavailable(err) && !strings.Contains(err.Error(), "deadline") && !strings.Contains(err.Error(), "Timeout") {
		t.Fatalf("create with etcd down: %v, want a timeout or unavailable error", err)
	}
	t.Logf("create failed after %v", time.Since(start))
	body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(context.Background())
	t.Logf("readyz after %v", time.Since(start))
	if err == nil || !strings.Contains(string(body), "[-]etcd failed") {
		t.Fatalf("readyz with etcd down: %q %v", body, err)
	}
}
