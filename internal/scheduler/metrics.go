package scheduler

import (
	"slices"
	"sync"
	"time"
)

// maxSamples bounds the latency samples kept.
const maxSamples = 1_000_000

// latencies records, for bound pods, the end-to-end latency (queued to bound) and the
// scheduling-cycle latency (popped to assumed).
type latencies struct {
	mu         sync.Mutex
	e2e, cycle []time.Duration
	bound      int
}

func (s *Scheduler) observe(e2e time.Duration) {
	s.lat.mu.Lock()
	defer s.lat.mu.Unlock()
	s.lat.bound++
	if len(s.lat.e2e) < maxSamples {
		s.lat.e2e = append(s.lat.e2e, e2e)
	}
}

func (s *Scheduler) observeCycle(d time.Duration) {
	s.lat.mu.Lock()
	defer s.lat.mu.Unlock()
	if len(s.lat.cycle) < maxSamples {
		s.lat.cycle = append(s.lat.cycle, d)
	}
}

// Stats summarises the scheduler's work so far.
type Stats struct {
	Bound int
	// P50 and P99 are end-to-end: from entering the queue to bound.
	P50, P99 time.Duration
	// CycleP50 and CycleP99 time one scheduling cycle: popped to assumed on a node.
	CycleP50, CycleP99 time.Duration
}

// Stats returns the bound-pod count and latency percentiles.
func (s *Scheduler) Stats() Stats {
	s.lat.mu.Lock()
	e2e, cycle, bound := slices.Clone(s.lat.e2e), slices.Clone(s.lat.cycle), s.lat.bound
	s.lat.mu.Unlock()
	st := Stats{Bound: bound}
	st.P50, st.P99 = percentiles(e2e)
	st.CycleP50, st.CycleP99 = percentiles(cycle)
	return st
}

func percentiles(l []time.Duration) (p50, p99 time.Duration) {
	if len(l) == 0 {
		return 0, 0
	}
	slices.Sort(l)
	return l[len(l)/2], l[len(l)*99/100]
}
