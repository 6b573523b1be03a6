package apiserver

import "context"

// RepairAllocations runs one pass of the allocation repair for tests.
func (s *Server) RepairAllocations(ctx context.Context, suspects map[string]int64) (map[string]int64, error) {
	return s.repairAllocations(ctx, suspects)
}
