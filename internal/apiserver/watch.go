package apiserver

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/klite/klite/internal/apiserver/watchcache"
)

// watchParams are a watch request's query parameters.
type watchParams struct {
	rv, match         string
	bookmarks         bool
	sendInitialEvents *bool
	timeout           time.Duration
}

func parseWatchParams(r *http.Request) (watchParams, error) {
	q := r.URL.Query()
	p := watchParams{rv: q.Get("resourceVersion"), match: q.Get("resourceVersionMatch"), bookmarks: q.Get("allowWatchBookmarks") == "true"}
	if v := q.Get("sendInitialEvents"); v != "" {
		b := v == "true"
		p.sendInitialEvents = &b
	}
	p.timeout = time.Duration(30+rand.IntN(30)) * time.Minute
	if v := q.Get("timeoutSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, apierrors.NewBadRequest(fmt.Sprintf("invalid timeoutSeconds %q", v))
		}
		if n > 0 {
			p.timeout = time.Duration(n) * time.Second
		}
	}
	if p.sendInitialEvents != nil && p.match != "NotOlderThan" {
		return p, apierrors.NewInvalid(schemaGroupKindList, "", fieldErrs("resourceVersionMatch", p.match, "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
	}
	if p.sendInitialEvents == nil && p.match != "" {
		return p, apierrors.NewInvalid(schemaGroupKindList, "", fieldErrs("resourceVersionMatch", p.match, "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"))
	}
	if p.sendInitialEvents != nil && *p.sendInitialEvents && !p.bookmarks {
		return p, apierrors.NewInvalid(schemaGroupKindList, "", fieldErrs("allowWatchBookmarks", "false", "sendInitialEvents requires allowWatchBookmarks=true"))
	}
	return p, nil
}

var schemaGroupKindList = schema.GroupKind{Group: "meta.k8s.io", Kind: "ListOptions"}

func fieldErrs(name, value, msg string) field.ErrorList {
	return field.ErrorList{field.Invalid(field.NewPath(name), value, msg)}
}

// watchStream writes one watch's events to the client.
type watchStream struct {
	w       http.ResponseWriter
	flusher http.Flusher
	st      *store
	out     output
	s       *Server
	sentHdr bool
	hdr     []byte // scratch space for event headers
}

func (s *Server) watch(w http.ResponseWriter, r *http.Request, st *store, ri requestInfo) {
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
	p, err := parseWatchParams(r)
	if err != nil {
		writeError(w, err)
		return
	}
	opts, initialEnd, err := s.watchStart(r.Context(), st, p)
	if err != nil {
		writeError(w, err)
		return
	}
	prefix := st.prefix(ri.namespace)
	filter := func(e *watchcache.Entry) bool {
		return strings.HasPrefix(e.Key, prefix) && sel.match(e) && (ri.name == "" || e.Fields["metadata.name"] == ri.name)
	}
	flusher, _ := w.(http.Flusher)
	ws := &watchStream{w: w, flusher: flusher, st: st, out: out, s: s}
	watcher, initial, rev, err := st.cache.Watch(opts, filter)
	if errors.Is(err, watchcache.ErrTooOld) {
		ws.start()
		ws.sendStatus(apierrors.NewResourceExpired(err.Error()))
		return
	}
	if err != nil {
		writeError(w, apierrors.NewInternalError(err))
		return
	}
	s.watchesWG.Add(1)
	defer s.watchesWG.Done()
	defer watcher.Stop()
	ws.start()
	for _, ev := range initial {
		if ws.send(ev) != nil {
			return
		}
	}
	if initialEnd {
		ws.bookmark(rev, true)
	}
	ws.loop(r.Context(), watcher, p)
}

// watchStart turns the request's resourceVersion into where the cache watch starts; initialEnd
// says a bookmark must mark the end of the initial events.
func (s *Server) watchStart(ctx context.Context, st *store, p watchParams) (watchcache.WatchOptions, bool, error) {
	rev, err := parseRV(p.rv)
	if err != nil {
		return watchcache.WatchOptions{}, false, err
	}
	if p.sendInitialEvents != nil && *p.sendInitialEvents {
		if p.rv == "" {
			if rev, err = s.cfg.Storage.CurrentRevision(ctx); err != nil {
				return watchcache.WatchOptions{}, false, st.apiError(err, "")
			}
		}
		if err := s.waitCache(ctx, st, rev); err != nil {
			return watchcache.WatchOptions{}, false, err
		}
		return watchcache.WatchOptions{Initial: true}, true, nil
	}
	if rev == 0 {
		// "" and "0" start with the current state as ADDED events.
		return watchcache.WatchOptions{Initial: true}, false, nil
	}
	if rev > st.cache.Revision() {
		if err := s.waitCache(ctx, st, rev); err != nil {
			return watchcache.WatchOptions{}, false, err
		}
	}
	return watchcache.WatchOptions{From: rev}, false, nil
}

func (ws *watchStream) start() {
	ct := "application/json"
	switch {
	case ws.out.protobuf:
		ct = runtime.ContentTypeProtobuf + ";stream=watch"
	case ws.out.yaml:
		ct = "application/yaml"
	}
	ws.w.Header().Set("Content-Type", ct)
	ws.w.Header().Set("Transfer-Encoding", "chunked")
	ws.w.WriteHeader(http.StatusOK)
	ws.flush()
}

func (ws *watchStream) flush() {
	if ws.flusher != nil {
		ws.flusher.Flush()
	}
}

func (ws *watchStream) loop(ctx context.Context, watcher *watchcache.Watcher, p watchParams) {
	timeout := time.NewTimer(p.timeout)
	defer timeout.Stop()
	var tick <-chan time.Time
	if p.bookmarks {
		t := time.NewTicker(ws.s.cfg.BookmarkPeriod)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case ev, ok := <-watcher.C():
			if !ok {
				return
			}
			if ws.send(ev) != nil {
				return
			}
			for n := len(watcher.C()); n > 0; n-- {
				if ws.send(<-watcher.C()) != nil {
					return
				}
			}
			ws.flush()
		case <-tick:
			if rev, ok := watcher.BookmarkRevision(); ok {
				ws.bookmark(rev, false)
			}
		case <-timeout.C:
			return
		case <-ctx.Done():
			return
		case <-ws.s.stopping:
			return
		}
	}
}

var eventTypes = map[watch.EventType]string{watch.Added: "ADDED", watch.Modified: "MODIFIED", watch.Deleted: "DELETED"}

// send writes one event without flushing; the caller flushes after a burst. The object's
// JSON or protobuf encoding is computed once per object version and shared by all watchers;
// each watcher frames it as it writes.
func (ws *watchStream) send(ev watchcache.Event) error {
	typ := eventTypes[ev.Type]
	if ws.out.table {
		obj, err := ws.tableRow(ev.Entry.Obj)
		if err != nil {
			return err
		}
		return ws.write(typ, obj)
	}
	if ws.out.metadata {
		obj, err := ws.encodeMeta(partial(ev.Entry.Obj))
		if err != nil {
			return err
		}
		return ws.write(typ, obj)
	}
	var obj []byte
	var err error
	if ws.out.protobuf {
		obj, err = ev.Entry.Protobuf(encodeProtobuf)
	} else {
		obj, err = ev.Entry.JSON(encode)
	}
	if err != nil {
		return err
	}
	return ws.write(typ, obj)
}

// write sends one event: a JSON line, or a length-prefixed protobuf WatchEvent, framed around
// obj as it is written (obj is a cached encoding: it is not copied into a frame).
func (ws *watchStream) write(typ string, obj []byte) error {
	ws.hdr = appendEventHeader(ws.hdr[:0], typ, len(obj), ws.out.protobuf)
	if _, err := ws.w.Write(ws.hdr); err != nil {
		return err
	}
	if _, err := ws.w.Write(obj); err != nil {
		return err
	}
	if ws.out.protobuf {
		return nil
	}
	_, err := io.WriteString(ws.w, "}\n")
	return err
}

// appendEventHeader appends what precedes an n-byte object in a watch event of type typ:
// `{"type":"TYPE","object":` for JSON; for protobuf the frame's big-endian length and a
// metav1.WatchEvent message up to its object's bytes, as gogo-protobuf encodes it
// (type = 1, object = 2, a RawExtension whose raw = 1).
func appendEventHeader(b []byte, typ string, n int, protobuf bool) []byte {
	if !protobuf {
		b = append(b, `{"type":"`...)
		b = append(b, typ...)
		return append(b, `","object":`...)
	}
	raw := 1 + protowire.SizeBytes(n)
	body := 1 + protowire.SizeBytes(len(typ)) + 1 + protowire.SizeBytes(raw)
	b = binary.BigEndian.AppendUint32(b, uint32(body))
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, typ)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(raw))
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(n))
}

func (ws *watchStream) tableRow(obj runtime.Object) ([]byte, error) {
	t, err := ws.s.cfg.Tables(ws.st.res.gvk.GroupKind(), []runtime.Object{obj}, ws.s.cfg.Now(), ws.out.includeObject, ws.sentHdr)
	if err != nil {
		return nil, err
	}
	ws.sentHdr = true
	return json.Marshal(t)
}

// bookmark tells the client it has seen everything up to rev.
func (ws *watchStream) bookmark(rev int64, initialEnd bool) {
	gvk := ws.st.res.gvk
	m := map[string]any{"resourceVersion": strconv.FormatInt(rev, 10)}
	if initialEnd {
		m["annotations"] = map[string]string{metav1.InitialEventsAnnotationKey: "true"}
	}
	if ws.out.metadata {
		p := partial(nil)
		p.ResourceVersion = strconv.FormatInt(rev, 10)
		if initialEnd {
			p.Annotations = map[string]string{metav1.InitialEventsAnnotationKey: "true"}
		}
		if b, err := ws.encodeMeta(p); err == nil {
			_ = ws.write("BOOKMARK", b)
		}
		ws.flush()
		return
	}
	obj := map[string]any{"kind": gvk.Kind, "apiVersion": gvk.GroupVersion().String(), "metadata": m}
	if ws.out.protobuf {
		_ = ws.write("BOOKMARK", ws.bookmarkProtobuf(rev, initialEnd))
		ws.flush()
		return
	}
	if ws.out.table {
		obj = map[string]any{"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": m, "columnDefinitions": nil, "rows": nil}
	}
	b, _ := json.Marshal(obj)
	_ = ws.write("BOOKMARK", b)
	ws.flush()
}

// encodeMeta encodes a meta.k8s.io object (partial metadata) in the stream's encoding.
func (ws *watchStream) encodeMeta(obj runtime.Object) ([]byte, error) {
	if ws.out.protobuf {
		return encodeMetaProtobuf(obj)
	}
	return json.Marshal(obj)
}

func (ws *watchStream) sendStatus(err error) {
	var status apierrors.APIStatus
	errors.As(err, &status)
	st := status.Status()
	st.Kind, st.APIVersion = "Status", "v1"
	st.Status = metav1.StatusFailure
	b, _ := json.Marshal(st)
	if ws.out.protobuf {
		b, _ = encodeProtobuf(&st)
	}
	_ = ws.write("ERROR", b)
	ws.flush()
}

// protobufFrame is a protobuf watch frame: a 4-byte big-endian length, then the envelope-less
// metav1.WatchEvent whose object is the enveloped protobuf of the object.
// bookmarkProtobuf is a bookmark's object: the resource's kind with only a resourceVersion.
func (ws *watchStream) bookmarkProtobuf(rev int64, initialEnd bool) []byte {
	obj := ws.s.codec.new(ws.st.res.gvk)
	obj.GetObjectKind().SetGroupVersionKind(ws.st.res.gvk)
	if m, ok := obj.(metav1.Object); ok {
		m.SetResourceVersion(strconv.FormatInt(rev, 10))
		if initialEnd {
			m.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
		}
	}
	b, _ := encodeProtobuf(obj)
	return b
}
