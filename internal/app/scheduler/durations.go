package scheduler

import "time"

func secs(n int64) time.Duration { return time.Duration(n) * time.Second }

func setDur(dst *time.Duration, d *duration) {
	if d != nil && d.d > 0 {
		*dst = d.d
	}
}
