package openapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	mimeJSON = "application/json"
	// The protobuf media types are answered in the dotted spelling: the '@'
	// spelling that clients send cannot be parsed by mime.ParseMediaType.
	mimeV2Proto   = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
	mimeV2ProtoAt = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
	mimeV3Proto   = "application/com.github.proto-openapi.spec.v3.v1.0+protobuf"
	mimeV3ProtoAt = "application/com.github.proto-openapi.spec.v3@v1.0+protobuf"
)

// indexEntry is one group-version in the /openapi/v3 index.
type indexEntry struct {
	ServerRelativeURL string `json:"serverRelativeURL"`
}

func (s *Spec) renderIndex() ([]byte, error) {
	paths := map[string]indexEntry{}
	for _, gv := range s.groupVersions {
		_, etag, err := gv.doc.get()
		if err != nil {
			return nil, err
		}
		paths[gv.key] = indexEntry{ServerRelativeURL: hashURL(gv.key, etag)}
	}
	return json.Marshal(map[string]any{"paths": paths})
}

func hashURL(key, etag string) string {
	return "/openapi/v3/" + key + "?" + url.Values{"hash": {etag}}.Encode()
}

// Handler serves /openapi/v2, /openapi/v3 and /openapi/v3/<api/v1 | apis/g/v>.
// It routes on the full request path: mount it for /openapi/v2, /openapi/v3
// and the prefix /openapi/v3/ without stripping anything.
func (s *Spec) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /openapi/v2", s.serveV2)
	mux.HandleFunc("GET /openapi/v3", s.serveIndex)
	mux.HandleFunc("GET /openapi/v3/{path...}", s.serveGroupVersion)
	return mux
}

func (s *Spec) serveV2(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Accept")
	switch negotiate(r.Header.Get("Accept"), mimeV2Proto, mimeV2ProtoAt) {
	case formatProto:
		body, etag, err := s.v2.getProto()
		s.serve(w, r, body, etag, mimeV2Proto, err)
	case formatJSON:
		body, etag, err := s.v2.get()
		s.serve(w, r, body, etag, mimeJSON, err)
	default:
		http.Error(w, "only application/json and "+mimeV2ProtoAt+" are served", http.StatusNotAcceptable)
	}
}

func (s *Spec) serveIndex(w http.ResponseWriter, r *http.Request) {
	body, etag, err := s.index.get()
	s.serve(w, r, body, etag, mimeJSON, err)
}

func (s *Spec) serveGroupVersion(w http.ResponseWriter, r *http.Request) {
	gv, ok := s.byKey[strings.Trim(r.PathValue("path"), "/")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Add("Vary", "Accept")
	format := negotiate(r.Header.Get("Accept"), mimeV3Proto, mimeV3ProtoAt)
	if format == formatNone {
		http.Error(w, "only application/json and "+mimeV3ProtoAt+" are served", http.StatusNotAcceptable)
		return
	}
	_, etag, err := gv.doc.get()
	if err == nil {
		if hash := r.URL.Query().Get("hash"); hash != "" {
			if hash != etag {
				http.Redirect(w, r, hashURL(gv.key, etag), http.StatusMovedPermanently)
				return
			}
			// The hash pins the content: it can be cached for good.
			w.Header().Set("Cache-Control", "public, immutable")
			w.Header().Set("Expires", time.Now().AddDate(1, 0, 0).UTC().Format(http.TimeFormat))
		}
	}
	if format == formatProto {
		body, etag, err := gv.doc.getProto()
		s.serve(w, r, body, etag, mimeV3Proto, err)
		return
	}
	body, etag, err := gv.doc.get()
	s.serve(w, r, body, etag, mimeJSON, err)
}

func (s *Spec) serve(w http.ResponseWriter, r *http.Request, body []byte, etag, contentType string, err error) {
	if err != nil {
		slog.Error("render openapi document", "path", r.URL.Path, "err", err)
		http.Error(w, "failed to render the OpenAPI document", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Etag", strconv.Quote(etag))
	http.ServeContent(w, r, "", s.built, bytes.NewReader(body))
}

type format int

const (
	formatNone format = iota
	formatJSON
	formatProto
)

// negotiate picks the first acceptable format in the order of the Accept
// header; an empty header or a wildcard means JSON.
func negotiate(accept string, protoTypes ...string) format {
	if strings.TrimSpace(accept) == "" {
		return formatJSON
	}
	for clause := range strings.SplitSeq(accept, ",") {
		// Not mime.ParseMediaType: the gnostic types contain '@', a tspecial.
		mt, _, _ := strings.Cut(clause, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		switch {
		case mt == mimeJSON, mt == "*/*", mt == "application/*":
			return formatJSON
		case mt == protoTypes[0], len(protoTypes) > 1 && mt == protoTypes[1]:
			return formatProto
		}
	}
	return formatNone
}
