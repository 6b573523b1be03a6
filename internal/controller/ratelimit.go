package controller

import "golang.org/x/time/rate"

// newBucket is the overall rate limit shared by all keys of one loop: 50 qps, bursts of 300.
func newBucket() *rate.Limiter { return rate.NewLimiter(rate.Limit(50), 300) }
