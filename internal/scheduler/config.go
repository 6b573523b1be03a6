package scheduler

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/klite/klite/internal/scheduler/framework"
	"github.com/klite/klite/internal/scheduler/plugins"
)

// DefaultSchedulerName is the schedulerName pods get by default.
const DefaultSchedulerName = "default-scheduler"

// Config configures a Scheduler. Client is required.
type Config struct {
	Client kubernetes.Interface
	// EventClient records the scheduler's events (default: Client). As upstream, give it a
	// client of its own, so that events do not spend the rate limit bindings need.
	EventClient kubernetes.Interface
	// Informers, when set, is a factory shared with other components of the process (see
	// informer.Shared): the scheduler then watches every pod, as they need, and leaves out
	// finished ones itself. Unset, it builds its own and lets the server filter pods.
	Informers informers.SharedInformerFactory
	// Profiles, one per schedulerName served (default: the default profile for default-scheduler).
	Profiles []framework.Profile
	Registry framework.Registry // default: plugins.NewRegistry()

	InitialBackoff time.Duration // default 1s
	MaxBackoff     time.Duration // default 10s
	// BindConcurrency bounds the bindings in flight (default 64).
	BindConcurrency int
	// MaxDecisions bounds the explanations kept (default 20000).
	MaxDecisions int

	Clock  clock.WithTicker
	Logger *slog.Logger
}

func (c *Config) complete() error {
	if c.Client == nil {
		return errors.New("scheduler: Client is required")
	}
	if len(c.Profiles) == 0 {
		c.Profiles = []framework.Profile{plugins.DefaultProfile(DefaultSchedulerName)}
	}
	seen := map[string]bool{}
	for _, p := range c.Profiles {
		if p.SchedulerName == "" || seen[p.SchedulerName] {
			return fmt.Errorf("scheduler: profile names must be set and unique, got %q", p.SchedulerName)
		}
		if p.PercentageOfNodesToScore < 0 || p.PercentageOfNodesToScore > 100 {
			return fmt.Errorf("scheduler: profile %q: percentageOfNodesToScore %d not in [0, 100]", p.SchedulerName, p.PercentageOfNodesToScore)
		}
		seen[p.SchedulerName] = true
	}
	if c.Registry == nil {
		c.Registry = plugins.NewRegistry()
	}
	if c.BindConcurrency <= 0 {
		c.BindConcurrency = 64
	}
	if c.MaxDecisions <= 0 {
		c.MaxDecisions = 20000
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}
