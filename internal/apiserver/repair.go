package apiserver

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

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
	unheld := map[string]int64{}
	for _, prefix := range []string{ipKeys, portKeys} {
		res, err := s.cfg.Storage.List(ctx, prefix, storage.ListOptions{})
		if err != nil {
			return suspects, err
		}
		for _, kv := range res.Items {
			held, err := s.holds(ctx, string(kv.Value), strings.TrimPrefix(kv.Key, prefix), prefix == ipKeys)
			if err != nil {
				return suspects, err
			}
			if held {
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

// holds reports whether the Service owner ("namespace/name") holds the ClusterIP or NodePort
// value, reading it from etcd.
func (s *Server) holds(ctx context.Context, owner, value string, ip bool) (bool, error) {
	ns, name, ok := strings.Cut(owner, "/")
	if !ok {
		return false, nil
	}
	obj, _, err := s.stores[core.WithResource("services")].get(ctx, ns, name)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	svc := obj.(*corev1.Service)
	if ip {
		return svc.Spec.ClusterIP == value || slices.Contains(svc.Spec.ClusterIPs, value), nil
	}
	return slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return strconv.Itoa(int(p.NodePort)) == value }), nil
}
