package controller

import (
	"sync"
	"time"
)

func secs(n int32) time.Duration { return time.Duration(n) * time.Second }

// SlowStartBatch calls fn count times in batches of 1, 2, 4, ... (from initial), in parallel
// within a batch, and stops after the first batch with a failure so that a request the server
// keeps refusing (quota, admission) costs a few calls, not count. It returns how many succeeded
// and the first error.
func SlowStartBatch(count, initial int, fn func() error) (int, error) {
	done := 0
	for batch := min(count, max(initial, 1)); batch > 0; batch = min(2*batch, count-done) {
		var wg sync.WaitGroup
		errs := make(chan error, batch)
		for range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := fn(); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		failed := 0
		var first error
		for err := range errs {
			failed++
			if first == nil {
				first = err
			}
		}
		done += batch - failed
		if first != nil {
			return done, first
		}
	}
	return done, nil
}
