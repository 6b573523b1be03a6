package openapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	openapi_v3 "github.com/google/gnostic-models/openapiv3"
	"google.golang.org/protobuf/proto"
)

// get performs one request against the spec's handler.
func get(t *testing.T, h http.Handler, path string, header map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// v3Index fetches /openapi/v3 and returns its paths.
func v3Index(t *testing.T, h http.Handler) map[string]indexEntry {
	t.Helper()
	var idx struct {
		Paths map[string]indexEntry `json:"paths"`
	}
	if err := json.Unmarshal(body(t, get(t, h, "/openapi/v3", nil)), &idx); err != nil {
		t.Fatal(err)
	}
	return idx.Paths
}

func TestHandlerIndexListsEveryGroupVersion(t *testing.T) {
	t.Parallel()
	paths := v3Index(t, testSpec(t).Handler())
	for _, key := range []string{"api/v1", "apis/apps/v1", "apis/batch/v1", "apis/rbac.authorization.k8s.io/v1"} {
		u := paths[key].ServerRelativeURL
		if !strings.HasPrefix(u, "/openapi/v3/"+key+"?hash=") {
			t.Errorf("%s: serverRelativeURL = %q", key, u)
		}
	}
}

func TestHandlerResponses(t *testing.T) {
	t.Parallel()
	s := testSpec(t)
	h := s.Handler()
	appsURL := v3Index(t, h)["apis/apps/v1"].ServerRelativeURL
	_, appsEtag, _ := s.byKey["apis/apps/v1"].doc.get()
	tests := []struct {
		name        string
		path        string
		header      map[string]string
		status      int
		contentType string
		cache       string
		location    string
	}{
		{"v2 json by default", "/openapi/v2", nil, 200, "application/json", "", ""},
		{"v2 protobuf as client-go asks", "/openapi/v2", map[string]string{"Accept": mimeV2ProtoAt}, 200, mimeV2Proto, "", ""},
		{"v2 protobuf, dotted spelling", "/openapi/v2", map[string]string{"Accept": mimeV2Proto}, 200, mimeV2Proto, "", ""},
		{"v2 wildcard", "/openapi/v2", map[string]string{"Accept": "*/*"}, 200, "application/json", "", ""},
		{"v2 unsupported type", "/openapi/v2", map[string]string{"Accept": "text/html"}, 406, "", "", ""},
		{"v3 index", "/openapi/v3", nil, 200, "application/json", "", ""},
		{"v3 group version without hash", "/openapi/v3/apis/apps/v1", nil, 200, "application/json", "", ""},
		{"v3 group version with hash", appsURL, map[string]string{"Accept": "application/json"}, 200, "application/json", "public, immutable", ""},
		{"v3 protobuf", appsURL, map[string]string{"Accept": mimeV3ProtoAt}, 200, mimeV3Proto, "public, immutable", ""},
		{"v3 stale hash redirects", "/openapi/v3/apis/apps/v1?hash=0123", nil, 301, "", "", "/openapi/v3/apis/apps/v1?hash=" + appsEtag},
		{"v3 core", "/openapi/v3/api/v1", nil, 200, "application/json", "", ""},
		{"v3 unknown group version", "/openapi/v3/apis/nope/v1", nil, 404, "", "", ""},
		{"v3 not modified", "/openapi/v3/apis/apps/v1", map[string]string{"If-None-Match": `"` + appsEtag + `"`}, 304, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, h, tc.path, tc.header)
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.contentType != "" && resp.Header.Get("Content-Type") != tc.contentType {
				t.Errorf("Content-Type = %q, want %q", resp.Header.Get("Content-Type"), tc.contentType)
			}
			if got := resp.Header.Get("Cache-Control"); got != tc.cache {
				t.Errorf("Cache-Control = %q, want %q", got, tc.cache)
			}
			if got := resp.Header.Get("Location"); got != tc.location {
				t.Errorf("Location = %q, want %q", got, tc.location)
			}
			if tc.status == 200 && resp.Header.Get("Etag") == "" {
				t.Error("no Etag")
			}
		})
	}
}

func TestV2ProtobufRoundTrips(t *testing.T) {
	t.Parallel()
	s := testSpec(t)
	pb := body(t, get(t, s.Handler(), "/openapi/v2", map[string]string{"Accept": mimeV2ProtoAt}))
	var fromProto openapi_v2.Document
	if err := proto.Unmarshal(pb, &fromProto); err != nil {
		t.Fatalf("unmarshal protobuf: %v", err)
	}
	raw, _, _ := s.v2.get()
	fromJSON, err := openapi_v2.ParseDocument(raw)
	if err != nil {
		t.Fatalf("gnostic ParseDocument: %v", err)
	}
	if !proto.Equal(&fromProto, fromJSON) {
		t.Error("protobuf document differs from the JSON document")
	}
	found := false
	for _, d := range fromProto.GetDefinitions().GetAdditionalProperties() {
		if d.GetName() == "io.k8s.api.apps.v1.Deployment" {
			found = true
		}
	}
	if !found {
		t.Error("protobuf document lacks io.k8s.api.apps.v1.Deployment")
	}
}

func TestV3ProtobufRoundTrips(t *testing.T) {
	t.Parallel()
	h := testSpec(t).Handler()
	pb := body(t, get(t, h, "/openapi/v3/apis/apps/v1", map[string]string{"Accept": mimeV3ProtoAt}))
	var doc openapi_v3.Document
	if err := proto.Unmarshal(pb, &doc); err != nil {
		t.Fatalf("unmarshal protobuf: %v", err)
	}
	found := false
	for _, d := range doc.GetComponents().GetSchemas().GetAdditionalProperties() {
		if d.GetName() == "io.k8s.api.apps.v1.Deployment" {
			found = true
		}
	}
	if !found {
		t.Error("protobuf document lacks io.k8s.api.apps.v1.Deployment")
	}
}

func TestNegotiate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		accept string
		want   format
	}{
		{"", formatJSON},
		{"application/json", formatJSON},
		{"application/json, */*", formatJSON},
		{mimeV2Proto, formatProto},
		{mimeV2ProtoAt, formatProto},
		{mimeV2Proto + ", application/json", formatProto},
		{"application/json;q=0.9", formatJSON},
		{"text/plain", formatNone},
	}
	for _, tc := range tests {
		if got := negotiate(tc.accept, mimeV2Proto, mimeV2ProtoAt); got != tc.want {
			t.Errorf("negotiate(%q) = %v, want %v", tc.accept, got, tc.want)
		}
	}
}

// FuzzHandler feeds arbitrary paths, queries and Accept headers to the
// handler: it must never panic and must answer with a known status.
func FuzzHandler(f *testing.F) {
	f.Add("/openapi/v3/apis/apps/v1", "hash=00", mimeV3ProtoAt)
	f.Add("/openapi/v2", "", "application/json;q=0.5, */*")
	f.Add("/openapi/v3/", "", ";;,")
	s, err := Build(testResources()[:2])
	if err != nil {
		f.Fatal(err)
	}
	h := s.Handler()
	f.Fuzz(func(t *testing.T, path, query, accept string) {
		u := &url.URL{Path: path, RawQuery: query}
		if !strings.HasPrefix(u.Path, "/") {
			return
		}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL = u
		req.Header.Set("Accept", accept)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 301, 304, 307, 308, 400, 404, 405, 406:
		default:
			t.Errorf("GET %s?%s Accept %q: status %d", path, query, accept, rec.Code)
		}
	})
}
