package apiserver

import (
	"context"
	"errors"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/klite/klite/internal/storage"
)

// repairInterval is how often the allocation repair runs, as upstream's.
const repairInterval = 3 * time.Minute

// repairLoop frees ClusterIPs and NodePorts that no Service holds: an API server that dies
// between claiming an allocation and storing its Service (or a failed delete) would otherwise
// leak it for good. A claim is freed only when it was seen unheld, unchanged, by the previous
// run too: a request still creating its Service finishes long before the next run.
func (s *Server) repairLoop(ctx context.Context) {
	t := time.NewTicker(repairInterval)
	defer t.Stop()
	suspects := map[string]int64{}
	for {
		var err error
		if suspects, err = s.repairAllocations(ctx, suspects); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("repair service allocations", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// repairAllocations runs one pass: it frees the claims in suspects (key → revision) that are
// still unheld at that revision, and returns the unheld claims seen now for the next pass.
func (s *Server) repairAllocations(ctx context.Context, suspects map[string]int64) (map[string]int64, error) {
	held, err := s.heldAllocations(ctx)
	if err != nil {
		return suspects, err
	}
	unheld := map[string]int64{}
	for _, prefix := range []string{ipKeys, portKeys} {
		res, err := s.cfg.Storage.List(ctx, prefix, storage.ListOptions{})
		if err != nil {
			return suspects, err
		}
		for _, kv := range res.Items {
			if held[kv.Key] {
				continue
			}
			if suspects[kv.Key] != kv.Revision {
				unheld[kv.Key] = kv.Revision
				continue
			}
			if _, _, err := s.cfg.Storage.Delete(ctx, kv.Key, kv.Revision); err != nil && !errors.Is(err, storage.ErrConflict) && !errors.Is(err, storage.ErrNotFound) {
				return suspects, err
			}
			s.cfg.Logger.Info("freed a service allocation no Service holds", "allocation", kv.Key, "owner", string(kv.Value))
		}
	}
	return unheld, nil
}

// heldAllocations are the claim keys of the ClusterIPs and NodePorts the stored Services hold,
// read from etcd in one list.
func (s *Server) heldAllocations(ctx context.Context) (map[string]bool, error) {
	st := s.stores[core.WithResource("services")]
	res, err := s.cfg.Storage.List(ctx, st.root, storage.ListOptions{})
	if err != nil {
		return nil, err
	}
	held := map[string]bool{}
	for _, kv := range res.Items {
		obj, err := st.decode(kv.Value, kv.Revision)
		if err != nil {
			return nil, err
		}
		svc := obj.(*corev1.Service)
		for _, ip := range append([]string{svc.Spec.ClusterIP}, svc.Spec.ClusterIPs...) {
			held[ipKeys+ip] = true
		}
		for _, p := range svc.Spec.Ports {
			held[portKeys+strconv.Itoa(int(p.NodePort))] = true
		}
	}
	return held, nil
}
