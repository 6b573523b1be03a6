package kubelet

import (
	"errors"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// ClientLimits are the kubelet's client-side rate limits towards the API
// server, as upstream's flags name them. QPS 0 means client-go's default
// (5), a negative QPS no limit.
type ClientLimits struct {
	// QPS and Burst limit everything but events and heartbeats
	// (--kube-api-qps, --kube-api-burst).
	QPS   float32
	Burst int
	// EventQPS and EventBurst limit posting events (--event-qps, --event-burst).
	EventQPS   float32
	EventBurst int
}

// DefaultClientLimits are upstream's defaults: 50 requests a second with
// bursts of 100, for the API client and the event client each. (client-go's
// own 5/10 would hold a burst of new pods' status writes back by seconds.)
func DefaultClientLimits() ClientLimits {
	return ClientLimits{QPS: 50, Burst: 100, EventQPS: 50, EventBurst: 100}
}

// Validate refuses negative bursts (0 means client-go's default, 10).
func (l ClientLimits) Validate() error {
	var errs []error
	if l.Burst < 0 {
		errs = append(errs, errors.New("--kube-api-burst must not be negative"))
	}
	if l.EventBurst < 0 {
		errs = append(errs, errors.New("--event-burst must not be negative"))
	}
	return errors.Join(errs...)
}

// SetClients sets c.Client, c.EventClient and c.HeartbeatClient from one
// rest config: the first two with their limits, the heartbeat client (the
// node's Lease and status) with none, as upstream's kubelet does, so that
// no burst of pod work can make the node look dead.
func (c *Config) SetClients(rc *rest.Config, l ClientLimits) error {
	build := func(qps float32, burst int) (kubernetes.Interface, error) {
		cfg := rest.CopyConfig(rc)
		cfg.QPS, cfg.Burst, cfg.RateLimiter = qps, burst, nil
		return kubernetes.NewForConfig(cfg)
	}
	var err error
	if c.Client, err = build(l.QPS, l.Burst); err != nil {
		return err
	}
	if c.EventClient, err = build(l.EventQPS, l.EventBurst); err != nil {
		return err
	}
	c.HeartbeatClient, err = build(-1, 0)
	return err
}
