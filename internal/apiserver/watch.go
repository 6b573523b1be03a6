package apiserver

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

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

// send writes one event without flushing; the caller flushes after a burst. JSON and protobuf
// frames are encoded once per object version and event type and shared by all watchers.
func (ws *watchStream) send(ev watchcache.Event) error {
	typ := eventTypes[ev.Type]
	if ws.out.table {
		obj, err := ws.tableRow(ev.Entry.Obj)
		if err != nil {
			return err
		}
		return ws.write(typ, obj)
	}
	slot := frameSlot(ev.Type, ws.out.protobuf)
	frame, err := ev.Entry.Frame(slot, func() ([]byte, error) {
		if ws.out.protobuf {
			obj, err := ev.Entry.Protobuf(encodeProtobuf)
			if err != nil {
				return nil, err
			}
			return protobufFrame(typ, obj)
		}
		obj, err := ev.Entry.JSON(encode)
		if err != nil {
			return nil, err
		}
		return jsonFrame(typ, obj), nil
	})
	if err != nil {
		return err
	}
	_, err = ws.w.Write(frame)
	return err
}

// frameSlot numbers the (event type, encoding) pairs for Entry.Frame.
func frameSlot(t watch.EventType, protobuf bool) int {
	i := 0
	switch t {
	case watch.Modified:
		i = 1
	case watch.Deleted:
		i = 2
	}
	if protobuf {
		i += 3
	}
	return i
}

func jsonFrame(typ string, obj []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(obj) + 32)
	buf.WriteString(`{"type":"`)
	buf.WriteString(typ)
	buf.WriteString(`","object":`)
	buf.Write(obj)
	buf.WriteString("}\n")
	return buf.Bytes()
}

// write sends one event: a JSON line, or a length-prefixed protobuf WatchEvent frame.
func (ws *watchStream) write(typ string, obj []byte) error {
	frame := jsonFrame(typ, obj)
	if ws.out.protobuf {
		var err error
		if frame, err = protobufFrame(typ, obj); err != nil {
			return err
		}
	}
	_, err := ws.w.Write(frame)
	return err
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
func protobufFrame(typ string, obj []byte) ([]byte, error) {
	var body bytes.Buffer
	ev := &metav1.WatchEvent{Type: typ, Object: runtime.RawExtension{Raw: obj}}
	if err := protobufRaw.Encode(ev, &body); err != nil {
		return nil, err
	}
	frame := make([]byte, 4, 4+body.Len())
	binary.BigEndian.PutUint32(frame, uint32(body.Len()))
	return append(frame, body.Bytes()...), nil
}

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
