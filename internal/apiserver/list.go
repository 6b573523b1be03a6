package apiserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"k8s.io/client-go/kubernetes/scheme"

	"github.com/klite/klite/internal/apiserver/watchcache"
	"github.com/klite/klite/internal/storage"
)

// selectors are a request's label and field selectors.
type selectors struct {
	labels labels.Selector
	fields fields.Selector
}

func (sel selectors) match(e *watchcache.Entry) bool {
	return sel.labels.Matches(labels.Set(e.Labels)) && sel.fields.Matches(fields.Set(e.Fields))
}

func parseSelectors(r *http.Request, res *resource) (selectors, error) {
	q := r.URL.Query()
	ls, err := labels.Parse(q.Get("labelSelector"))
	if err != nil {
		return selectors{}, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
	}
	fs, err := fields.ParseSelector(q.Get("fieldSelector"))
	if err != nil {
		return selectors{}, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector: %v", err))
	}
	for _, req := range fs.Requirements() {
		if !supportsField(res, req.Field) {
			return selectors{}, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
		}
	}
	return selectors{labels: ls, fields: fs}, nil
}

func supportsField(res *resource, f string) bool {
	if f == "metadata.name" || (f == "metadata.namespace" && res.namespaced) {
		return true
	}
	if res.fields == nil {
		return false
	}
	obj, _ := scheme.Scheme.New(res.gvk)
	_, ok := res.fields(obj)[f]
	return ok
}

// continueToken is the opaque `continue` of a paginated list: the revision the first page was read
// at and the key (relative to the resource's root) to go on from.
type continueToken struct {
	APIVersion string `json:"v"`
	Revision   int64  `json:"rv"`
	Start      string `json:"start"`
}

func encodeContinue(rev int64, start string) string {
	b, _ := json.Marshal(continueToken{APIVersion: "meta.k8s.io/v1", Revision: rev, Start: start})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeContinue(s string) (continueToken, error) {
	var t continueToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.APIVersion != "meta.k8s.io/v1" || t.Revision <= 0 || strings.Contains(t.Start, "..") {
		return t, apierrors.NewBadRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
	}
	return t, nil
}

// listPage is one list response before encoding.
type listPage struct {
	entries   []*watchcache.Entry // from the cache, or
	objects   []runtime.Object    // from etcd
	rev       int64
	continue_ string
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, st *store, ri requestInfo) {
	out, err := negotiate(r)
	if err != nil {
		writeError(w, err)
		return
	}
	sel, err := parseSelectors(r, st.res)
	if err != nil {
		writeError(w, err)
		return
	}
	page, err := s.listPage(r.Context(), r, st, ri.namespace, sel)
	if err != nil {
		writeError(w, err)
		return
	}
	if out.table {
		s.writeTableList(w, st, page, out)
		return
	}
	if out.metadata {
		writeObject(w, http.StatusOK, partialList(page.all(), strconv.FormatInt(page.rev, 10), page.continue_), out)
		return
	}
	if out.protobuf {
		list := s.emptyList(st)
		if err := meta.SetList(list, page.all()); err != nil {
			writeError(w, apierrors.NewInternalError(err))
			return
		}
		lm, _ := meta.ListAccessor(list)
		lm.SetResourceVersion(strconv.FormatInt(page.rev, 10))
		lm.SetContinue(page.continue_)
		writeObject(w, http.StatusOK, list, out)
		return
	}
	parts, err := encodeList(st.res, page)
	if err != nil {
		writeError(w, apierrors.NewInternalError(err))
		return
	}
	if out.yaml {
		var v any
		_ = json.Unmarshal(parts.bytes(), &v)
		writeObject(w, http.StatusOK, v, out)
		return
	}
	parts.writeTo(w)
}

func (s *Server) listPage(ctx context.Context, r *http.Request, st *store, ns string, sel selectors) (listPage, error) {
	q := r.URL.Query()
	limit, _ := strconv.ParseInt(q.Get("limit"), 10, 64)
	rv, match := q.Get("resourceVersion"), q.Get("resourceVersionMatch")
	if c := q.Get("continue"); c != "" {
		tok, err := decodeContinue(c)
		if err != nil {
			return listPage{}, err
		}
		return s.listFromStore(ctx, st, ns, st.root+tok.Start, tok.Revision, limit, sel)
	}
	rev, err := parseRV(rv)
	if err != nil {
		return listPage{}, err
	}
	switch {
	case match == "Exact":
		if rev == 0 {
			return listPage{}, apierrors.NewBadRequest("resourceVersionMatch=Exact requires a resourceVersion")
		}
		return s.listFromStore(ctx, st, ns, "", rev, limit, sel)
	case match != "" && match != "NotOlderThan":
		return listPage{}, apierrors.NewBadRequest(fmt.Sprintf("unsupported resourceVersionMatch %q", match))
	case rv == "":
		cur, err := s.cfg.Storage.CurrentRevision(ctx)
		if err != nil {
			return listPage{}, st.apiError(err, "")
		}
		rev = cur
	}
	if err := s.waitCache(ctx, st, rev); err != nil {
		if rv == "" {
			return s.listFromStore(ctx, st, ns, "", 0, limit, sel)
		}
		return listPage{}, err
	}
	return s.listFromCache(st, ns, limit, sel), nil
}

func parseRV(rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version %q", rv))
	}
	return n, nil
}

// waitCache waits (briefly) for the cache to reach rev.
func (s *Server) waitCache(ctx context.Context, st *store, rev int64) error {
	if rev == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := st.cache.WaitFor(ctx, rev); err != nil {
		return apierrors.NewTimeoutError(fmt.Sprintf("Too large resource version: %d, current: %d", rev, st.cache.Revision()), 1)
	}
	return nil
}

func (s *Server) listFromCache(st *store, ns string, limit int64, sel selectors) listPage {
	entries, rev, more := st.cache.Snapshot(st.prefix(ns), "", int(limit), sel.match)
	page := listPage{entries: entries, rev: rev}
	if more && len(entries) > 0 {
		page.continue_ = encodeContinue(rev, strings.TrimPrefix(entries[len(entries)-1].Key, st.root)+"\x00")
	}
	return page
}

// consistentSnapshot returns the current matching entries (for deletecollection).
func (s *Server) consistentSnapshot(ctx context.Context, st *store, ns string, sel selectors) ([]*watchcache.Entry, int64, error) {
	cur, err := s.cfg.Storage.CurrentRevision(ctx)
	if err != nil {
		return nil, 0, st.apiError(err, "")
	}
	if err := s.waitCache(ctx, st, cur); err != nil {
		return nil, 0, err
	}
	entries, rev, _ := st.cache.Snapshot(st.prefix(ns), "", 0, sel.match)
	return entries, rev, nil
}

// listFromStore reads etcd at rev (0: latest) from start, filling up to limit matching objects.
func (s *Server) listFromStore(ctx context.Context, st *store, ns, start string, rev, limit int64, sel selectors) (listPage, error) {
	prefix := st.prefix(ns)
	if start != "" && !strings.HasPrefix(start, prefix) {
		return listPage{}, apierrors.NewBadRequest("continue key is not valid for this list")
	}
	page := listPage{}
	lastKey := ""
	batch := limit
	if batch <= 0 || batch < 100 {
		batch = 500
	}
	for {
		res, err := s.cfg.Storage.List(ctx, prefix, storage.ListOptions{Revision: rev, StartKey: start, Limit: batch})
		if err != nil {
			return listPage{}, st.apiError(err, "")
		}
		rev, page.rev = res.Revision, res.Revision
		for _, kv := range res.Items {
			e, err := st.decodeEntry(kv.Key, kv.Value, kv.Revision)
			if err != nil || !sel.match(e) {
				continue
			}
			if limit > 0 && int64(len(page.objects)) == limit {
				page.continue_ = encodeContinue(rev, strings.TrimPrefix(lastKey, st.root)+"\x00")
				return page, nil
			}
			page.objects = append(page.objects, e.Obj)
			lastKey = kv.Key
		}
		if !res.More || len(res.Items) == 0 {
			return page, nil
		}
		start = res.Items[len(res.Items)-1].Key + "\x00"
	}
}

// listParts is a list's JSON as a sequence of byte slices: the envelope and each item's cached
// encoding, written out without being copied into one buffer.
type listParts struct {
	parts [][]byte
	size  int
}

func (l *listParts) add(b []byte) {
	l.parts = append(l.parts, b)
	l.size += len(b)
}

// encodeList assembles the list JSON from the items' (cached) encodings.
func encodeList(res *resource, page listPage) (*listParts, error) {
	meta := metav1.ListMeta{ResourceVersion: strconv.FormatInt(page.rev, 10), Continue: page.continue_}
	mb, _ := json.Marshal(meta)
	l := &listParts{parts: make([][]byte, 0, 2*(len(page.entries)+len(page.objects))+2)}
	l.add(fmt.Appendf(nil, `{"kind":%q,"apiVersion":%q,"metadata":%s,"items":[`, res.listKind(), res.gvk.GroupVersion().String(), mb))
	comma := []byte{','}
	n := 0
	item := func(b []byte) {
		if n > 0 {
			l.add(comma)
		}
		l.add(b)
		n++
	}
	for _, e := range page.entries {
		b, err := e.JSON(encode)
		if err != nil {
			return nil, err
		}
		item(b)
	}
	for _, o := range page.objects {
		b, err := encode(o)
		if err != nil {
			return nil, err
		}
		item(b)
	}
	l.add([]byte("]}"))
	return l, nil
}

// bytes joins the parts (for re-encoding as YAML).
func (l *listParts) bytes() []byte {
	return bytes.Join(l.parts, nil)
}

// writeTo sends the parts with a Content-Length, through a buffer sized for large writes.
func (l *listParts) writeTo(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(l.size))
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 256<<10)
	for _, p := range l.parts {
		if _, err := bw.Write(p); err != nil {
			return
		}
	}
	_ = bw.Flush()
}

func (page listPage) all() []runtime.Object {
	out := make([]runtime.Object, 0, len(page.entries)+len(page.objects))
	for _, e := range page.entries {
		out = append(out, e.Obj)
	}
	return append(out, page.objects...)
}

func (s *Server) writeTableList(w http.ResponseWriter, st *store, page listPage, out output) {
	t, err := s.cfg.Tables(st.res.gvk.GroupKind(), page.all(), s.cfg.Now(), out.includeObject, false)
	if err != nil {
		writeError(w, apierrors.NewInternalError(err))
		return
	}
	t.ResourceVersion = strconv.FormatInt(page.rev, 10)
	t.Continue = page.continue_
	writeObject(w, http.StatusOK, t, out)
}

// emptyList returns a new, empty list object of the resource's list kind.
func (s *Server) emptyList(st *store) runtime.Object {
	gvk := st.res.gvk.GroupVersion().WithKind(st.res.listKind())
	list := s.codec.new(gvk)
	list.GetObjectKind().SetGroupVersionKind(gvk)
	_ = meta.SetList(list, nil)
	return list
}
