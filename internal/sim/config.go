package sim

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
)

// Config describes the simulated nodes. Client is required; the rest has defaults.
type Config struct {
	Client     kubernetes.Interface
	Nodes      int    // how many nodes to register
	NamePrefix string // nodes are named <prefix>-<index>, index from 0

	CPU    resource.Quantity // capacity and allocatable cpu per node (default 32)
	Memory resource.Quantity // capacity and allocatable memory per node (default 256Gi)
	Pods   int               // pod capacity per node (default 110)
	// EphemeralStorage is the node's ephemeral-storage capacity (default 100Gi).
	EphemeralStorage resource.Quantity
	Labels           map[string]string
	Taints           []corev1.Taint
	// PodCIDRStart is the first node's /24; node i gets the i-th /24 after it (default 10.42.0.0).
	PodCIDRStart netip.Addr

	JobDuration    time.Duration // restartPolicy Never/OnFailure pods succeed after this (default 1s)
	LeaseDuration  time.Duration // node Lease duration (default 40s)
	RenewInterval  time.Duration // how often Leases are renewed (default 10s)
	StatusInterval time.Duration // how often the Ready heartbeat is refreshed (default 1m)
	Workers        int           // concurrent API calls for nodes and pods (default 16)

	Clock  clock.WithTicker
	Logger *slog.Logger
}

// complete validates c and fills in the defaults.
func (c *Config) complete() error {
	if c.Client == nil {
		return errors.New("sim: Client is required")
	}
	if c.Nodes < 0 {
		return fmt.Errorf("sim: node count %d is negative", c.Nodes)
	}
	if c.NamePrefix == "" || strings.ContainsAny(c.NamePrefix, "/ ") {
		return fmt.Errorf("sim: invalid name prefix %q", c.NamePrefix)
	}
	defQ(&c.CPU, "32")
	defQ(&c.Memory, "256Gi")
	defQ(&c.EphemeralStorage, "100Gi")
	defInt(&c.Pods, 110)
	defInt(&c.Workers, 16)
	defDur(&c.JobDuration, time.Second)
	defDur(&c.LeaseDuration, 40*time.Second)
	defDur(&c.RenewInterval, 10*time.Second)
	defDur(&c.StatusInterval, time.Minute)
	if !c.PodCIDRStart.IsValid() {
		c.PodCIDRStart = netip.MustParseAddr("10.42.0.0")
	}
	if !c.PodCIDRStart.Is4() {
		return fmt.Errorf("sim: pod CIDR start %s is not IPv4", c.PodCIDRStart)
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

func defQ(q *resource.Quantity, v string) {
	if q.IsZero() {
		*q = resource.MustParse(v)
	}
}

func defInt(p *int, v int) {
	if *p <= 0 {
		*p = v
	}
}

func defDur(p *time.Duration, v time.Duration) {
	if *p <= 0 {
		*p = v
	}
}

// ParseTaints parses "key=value:Effect,key:Effect" as kubectl taint does.
func ParseTaints(specs []string) ([]corev1.Taint, error) {
	var out []corev1.Taint
	for _, s := range specs {
		kv, effect, ok := strings.Cut(s, ":")
		if !ok {
			return nil, fmt.Errorf("taint %q: want key[=value]:Effect", s)
		}
		k, v, _ := strings.Cut(kv, "=")
		e := corev1.TaintEffect(effect)
		switch e {
		case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		default:
			return nil, fmt.Errorf("taint %q: unknown effect %q", s, effect)
		}
		if k == "" {
			return nil, fmt.Errorf("taint %q: empty key", s)
		}
		out = append(out, corev1.Taint{Key: k, Value: v, Effect: e})
	}
	return out, nil
}
