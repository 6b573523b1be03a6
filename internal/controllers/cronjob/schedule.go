package cronjob

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
)

// parseSchedule parses the CronJob's schedule in its time zone.
func parseSchedule(cj *batchv1.CronJob) (cron.Schedule, error) {
	spec := cj.Spec.Schedule
	if tz := cj.Spec.TimeZone; tz != nil && *tz != "" {
		if strings.Contains(spec, "TZ=") {
			return nil, fmt.Errorf("schedule %q sets a time zone and so does spec.timeZone", spec)
		}
		if _, err := time.LoadLocation(*tz); err != nil {
			return nil, fmt.Errorf("unknown time zone %q: %w", *tz, err)
		}
		spec = "CRON_TZ=" + *tz + " " + spec
	}
	return cron.ParseStandard(spec)
}

// maxMissed bounds the walk over missed schedule times (upstream gives up counting at 100).
const maxMissed = 100

// mostRecent returns the latest schedule time in (earliest, now], whether more than maxMissed
// were missed, and the next time after now.
func mostRecent(s cron.Schedule, earliest, now time.Time) (last time.Time, tooMany bool, next time.Time) {
	n := 0
	for t := s.Next(earliest); !t.After(now); t = s.Next(t) {
		last = t
		if n++; n == maxMissed {
			tooMany = true
			// Jump close to now rather than walking every missed time.
			if period := s.Next(t).Sub(t); period > 0 && now.Sub(t) > 2*period {
				t = now.Add(-2 * period)
			}
		}
	}
	return last, tooMany, s.Next(now)
}
