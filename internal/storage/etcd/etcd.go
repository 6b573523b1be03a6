// Package etcd implements storage.Interface on etcd v3, and starts an embedded etcd server. It is
// the only package that imports the etcd client.
package etcd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/metadata"

	"github.com/klite/klite/internal/storage"
)

// Store is storage.Interface over an etcd client.
type Store struct {
	client   *clientv3.Client
	watchIDs atomic.Uint64
}

var _ storage.Interface = (*Store)(nil)

// Dial connects to the etcd cluster at endpoints.
func Dial(ctx context.Context, endpoints []string) (*Store, error) {
	client, err := clientv3.New(clientv3.Config{
		Endpoints:          endpoints,
		DialTimeout:        10 * time.Second,
		Context:            ctx,
		Logger:             zap.NewNop(),
		MaxCallSendMsgSize: 8 << 20,
		MaxCallRecvMsgSize: 1 << 30,
	})
	if err != nil {
		return nil, fmt.Errorf("connect to etcd %v: %w", endpoints, err)
	}
	return &Store{client: client}, nil
}

// Close releases the client.
func (s *Store) Close() error { return s.client.Close() }

func (s *Store) Get(ctx context.Context, key string) (storage.KV, error) {
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return storage.KV{}, mapErr(err)
	}
	if len(resp.Kvs) == 0 {
		return storage.KV{}, storage.ErrNotFound
	}
	kv := resp.Kvs[0]
	return storage.KV{Key: string(kv.Key), Value: kv.Value, Revision: kv.ModRevision}, nil
}

func (s *Store) List(ctx context.Context, prefix string, opts storage.ListOptions) (storage.ListResult, error) {
	start := prefix
	if opts.StartKey != "" {
		start = opts.StartKey
	}
	ops := []clientv3.OpOption{clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix))}
	if opts.Revision > 0 {
		ops = append(ops, clientv3.WithRev(opts.Revision))
	}
	if opts.Limit > 0 {
		ops = append(ops, clientv3.WithLimit(opts.Limit))
	}
	resp, err := s.client.Get(ctx, start, ops...)
	if err != nil {
		return storage.ListResult{}, mapErr(err)
	}
	res := storage.ListResult{Revision: resp.Header.Revision, More: resp.More, Items: make([]storage.KV, len(resp.Kvs))}
	if opts.Revision > 0 {
		res.Revision = opts.Revision
	}
	for i, kv := range resp.Kvs {
		res.Items[i] = storage.KV{Key: string(kv.Key), Value: kv.Value, Revision: kv.ModRevision}
	}
	return res, nil
}

func (s *Store) Count(ctx context.Context, prefix string) (int64, error) {
	resp, err := s.client.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, mapErr(err)
	}
	return resp.Count, nil
}

func (s *Store) Create(ctx context.Context, key string, value []byte) (int64, error) {
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(value))).
		Commit()
	if err != nil {
		return 0, mapErr(err)
	}
	if !resp.Succeeded {
		return 0, storage.ErrExists
	}
	return resp.Header.Revision, nil
}

func (s *Store) Update(ctx context.Context, key string, value []byte, expectRev int64) (int64, error) {
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", expectRev)).
		Then(clientv3.OpPut(key, string(value))).
		Else(clientv3.OpGet(key, clientv3.WithCountOnly())).
		Commit()
	if err != nil {
		return 0, mapErr(err)
	}
	if !resp.Succeeded {
		if resp.Responses[0].GetResponseRange().Count == 0 {
			return 0, storage.ErrNotFound
		}
		return 0, storage.ErrConflict
	}
	return resp.Header.Revision, nil
}

func (s *Store) Delete(ctx context.Context, key string, expectRev int64) (int64, []byte, error) {
	cmp := clientv3.Compare(clientv3.ModRevision(key), "=", expectRev)
	if expectRev == 0 {
		cmp = clientv3.Compare(clientv3.CreateRevision(key), ">", 0)
	}
	resp, err := s.client.Txn(ctx).
		If(cmp).
		Then(clientv3.OpDelete(key, clientv3.WithPrevKV())).
		Else(clientv3.OpGet(key, clientv3.WithCountOnly())).
		Commit()
	if err != nil {
		return 0, nil, mapErr(err)
	}
	if !resp.Succeeded {
		if resp.Responses[0].GetResponseRange().Count == 0 {
			return 0, nil, storage.ErrNotFound
		}
		return 0, nil, storage.ErrConflict
	}
	del := resp.Responses[0].GetResponseDeleteRange()
	if del.Deleted == 0 || len(del.PrevKvs) == 0 {
		return 0, nil, storage.ErrNotFound
	}
	return resp.Header.Revision, del.PrevKvs[0].Value, nil
}

func (s *Store) CurrentRevision(ctx context.Context) (int64, error) {
	resp, err := s.client.Get(ctx, "/registry/", clientv3.WithCountOnly(), clientv3.WithLimit(1))
	if err != nil {
		return 0, mapErr(err)
	}
	return resp.Header.Revision, nil
}

func (s *Store) Compact(ctx context.Context, rev int64) error {
	_, err := s.client.Compact(ctx, rev, clientv3.WithCompactPhysical())
	return mapErr(err)
}

// Watch starts an etcd watch with progress notifications on its own stream, so that
// RequestProgress reaches exactly this watch.
func (s *Store) Watch(ctx context.Context, prefix string, fromRev int64) storage.Watch {
	w := &watch{ch: make(chan storage.WatchResponse, 128)}
	// A private metadata value gives this watch its own gRPC stream, so that progress requests and
	// notifications concern this watch alone.
	w.ctx = clientv3.WithRequireLeader(metadata.AppendToOutgoingContext(ctx, "klite-watch", strconv.FormatUint(s.watchIDs.Add(1), 10)))
	w.watcher = s.client.Watcher
	ops := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithProgressNotify()}
	if fromRev > 0 {
		ops = append(ops, clientv3.WithRev(fromRev+1))
	}
	wch := s.client.Watch(w.ctx, prefix, ops...)
	go w.run(ctx, wch)
	return w
}

type watch struct {
	ctx     context.Context
	watcher clientv3.Watcher
	ch      chan storage.WatchResponse
}

func (w *watch) C() <-chan storage.WatchResponse { return w.ch }

func (w *watch) RequestProgress(ctx context.Context) error {
	return mapErr(w.watcher.RequestProgress(w.ctx))
}

func (w *watch) run(ctx context.Context, wch clientv3.WatchChan) {
	defer close(w.ch)
	for resp := range wch {
		out := storage.WatchResponse{Revision: resp.Header.Revision}
		if err := resp.Err(); err != nil {
			out.Err = mapErr(err)
			if resp.CompactRevision != 0 {
				out.Err = fmt.Errorf("%w: compacted at %d", storage.ErrCompacted, resp.CompactRevision)
			}
		}
		for _, ev := range resp.Events {
			out.Events = append(out.Events, convertEvent(ev))
		}
		select {
		case w.ch <- out:
		case <-ctx.Done():
			return
		}
		if out.Err != nil {
			return
		}
	}
	if ctx.Err() == nil {
		select {
		case w.ch <- storage.WatchResponse{Err: errors.New("etcd watch closed")}:
		case <-ctx.Done():
		}
	}
}

func convertEvent(ev *clientv3.Event) storage.Event {
	out := storage.Event{Key: string(ev.Kv.Key), Revision: ev.Kv.ModRevision}
	if ev.PrevKv != nil {
		out.PrevValue = ev.PrevKv.Value
	}
	if ev.Type == mvccpb.DELETE {
		out.Type = storage.EventDelete
		return out
	}
	out.Type = storage.EventPut
	out.Value = ev.Kv.Value
	out.Created = ev.IsCreate()
	return out
}

func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, rpctypes.ErrCompacted):
		return fmt.Errorf("%w: %v", storage.ErrCompacted, err)
	case errors.Is(err, rpctypes.ErrFutureRev):
		return fmt.Errorf("%w: %v", storage.ErrFutureRevision, err)
	}
	return fmt.Errorf("etcd: %w", err)
}
