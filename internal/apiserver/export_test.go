package apiserver

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
)

// RepairAllocations runs one pass of the allocation repair for tests.
func (s *Server) RepairAllocations(ctx context.Context, suspects map[string]int64) (map[string]int64, error) {
	return s.repairAllocations(ctx, suspects)
}

// GuaranteedUpdate runs the store's read-modify-write of resource (core/v1) for tests.
func (s *Server) GuaranteedUpdate(ctx context.Context, resource, ns, name string, fn func(runtime.Object) (runtime.Object, error)) (runtime.Object, error) {
	obj, _, err := s.stores[core.WithResource(resource)].guaranteedUpdate(ctx, ns, name, fn)
	return obj, err
}
