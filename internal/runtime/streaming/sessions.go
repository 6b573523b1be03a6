package streaming

import (
	"errors"
	"io"
	"net/http"
	"sync"

	"k8s.io/streaming/pkg/httpstream"
)

// sessions keeps count of the requests being served and the upgraded
// connections they hold, so that Start can end them all and return only
// once their handlers have.
type sessions struct {
	handlers sync.WaitGroup

	mu     sync.Mutex
	ending bool
	next   int
	conns  map[int]io.Closer
}

// counted wraps h so that every request it serves is waited for.
func (ss *sessions) counted(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !ss.begin() {
			http.Error(w, "streaming server is shutting down", http.StatusServiceUnavailable)
			return
		}
		defer ss.handlers.Done()
		h.ServeHTTP(w, r)
	})
}

func (ss *sessions) begin() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.ending {
		return false
	}
	ss.handlers.Add(1)
	return true
}

// hold registers an upgraded connection to close when the server stops;
// the returned func forgets it again. Once the server is stopping the
// connection is closed at once.
func (ss *sessions) hold(c io.Closer) (release func()) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.ending {
		_ = c.Close()
		return func() {}
	}
	if ss.conns == nil {
		ss.conns = map[int]io.Closer{}
	}
	id := ss.next
	ss.next++
	ss.conns[id] = c
	return func() {
		ss.mu.Lock()
		defer ss.mu.Unlock()
		delete(ss.conns, id)
	}
}

// end refuses new requests, closes every held connection and waits for the
// handlers to return.
func (ss *sessions) end() {
	ss.mu.Lock()
	ss.ending = true
	for id, c := range ss.conns {
		_ = c.Close()
		delete(ss.conns, id)
	}
	ss.mu.Unlock()
	ss.handlers.Wait()
}

// streamQueue hands the streams a client opens to the session's loop.
type streamQueue struct {
	streams chan httpstream.Stream
	done    chan struct{}
}

func newStreamQueue() *streamQueue {
	return &streamQueue{streams: make(chan httpstream.Stream, 8), done: make(chan struct{})}
}

// accept is the connection's NewStreamHandler.
func (q *streamQueue) accept(st httpstream.Stream, _ <-chan struct{}) error {
	select {
	case q.streams <- st:
		return nil
	case <-q.done:
		return errors.New("streaming session is over")
	}
}

// stop refuses the streams that arrive after the session has ended.
func (q *streamQueue) stop() { close(q.done) }
