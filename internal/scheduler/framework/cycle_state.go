package framework

import "sync"

// StateKey names one plugin's data in a CycleState.
type StateKey string

// StateData is what plugins keep in a CycleState; Clone lets preemption try what-ifs.
type StateData interface {
	Clone() StateData
}

// CycleState carries data between a plugin's extension points within one scheduling cycle.
// PreFilter and PreScore write; Filter and Score, which run in parallel, only read.
type CycleState struct {
	mu   sync.RWMutex
	data map[StateKey]StateData
	// SkipFilter and SkipScore name plugins whose PreFilter/PreScore returned Skip.
	SkipFilter, SkipScore map[string]bool
	// filters are the Filter plugins not skipped, fixed once PreFilter has run.
	filters []FilterPlugin
}

// NewCycleState returns an empty state.
func NewCycleState() *CycleState {
	return &CycleState{data: map[StateKey]StateData{}, SkipFilter: map[string]bool{}, SkipScore: map[string]bool{}}
}

// Read returns the data stored under key, or nil.
func (c *CycleState) Read(key StateKey) StateData {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.data[key]
}

// Write stores data under key.
func (c *CycleState) Write(key StateKey, d StateData) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.data[key] = d
}

// Clone deep-copies the state through each value's Clone.
func (c *CycleState) Clone() *CycleState {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := NewCycleState()
	for k, v := range c.data {
		out.data[k] = v.Clone()
	}
	for k, v := range c.SkipFilter {
		out.SkipFilter[k] = v
	}
	for k, v := range c.SkipScore {
		out.SkipScore[k] = v
	}
	out.filters = c.filters
	return out
}
