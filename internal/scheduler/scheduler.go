package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/scheme"
	listersv1 "k8s.io/client-go/listers/core/v1"
	schedlisters "k8s.io/client-go/listers/scheduling/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"

	"github.com/klite/klite/internal/informer"
	schedcache "github.com/klite/klite/internal/scheduler/cache"
	"github.com/klite/klite/internal/scheduler/framework"
	"github.com/klite/klite/internal/scheduler/queue"
)

// Scheduler places pending pods on nodes.
type Scheduler struct {
	cfg             Config
	informers       informers.SharedInformerFactory
	profiles        map[string]*framework.Framework
	cache           *schedcache.Cache
	queue           *queue.Queue
	snapshot        atomic.Pointer[framework.Snapshot]
	podLister       listersv1.PodLister
	priorityClasses schedlisters.PriorityClassLister
	recorders       map[string]events.EventRecorder
	broadcast       events.EventBroadcaster
	decisions       *decisions
	nextStart       int
	roundRobin      int
	binding         sync.WaitGroup
	lat             latencies
	bindSlots       chan struct{}
	nominator       *nominator
	handled         []cache.InformerSynced // the event handlers have seen the initial lists
}

// New validates cfg and builds every profile's plugins; nothing runs until Start.
func New(ctx context.Context, cfg Config) (*Scheduler, error) {
	if err := cfg.complete(); err != nil {
		return nil, err
	}
	s := &Scheduler{cfg: cfg, profiles: map[string]*framework.Framework{}, cache: schedcache.New(),
		recorders: map[string]events.EventRecorder{}, decisions: newDecisions(cfg.MaxDecisions),
		informers: cfg.Informers, bindSlots: make(chan struct{}, cfg.BindConcurrency),
		nominator: newNominator()}
	if s.informers == nil {
		s.informers = informer.NewFactory(cfg.Client)
	}
	s.snapshot.Store(framework.NewSnapshot(nil))
	pluginEvents := map[string][]framework.ClusterEvent{}
	for _, p := range cfg.Profiles {
		h := &handle{s: s, profile: p.SchedulerName}
		fw, err := framework.New(ctx, cfg.Registry, p, h)
		if err != nil {
			return nil, err
		}
		h.fw = fw
		s.profiles[p.SchedulerName] = fw
		for name, evs := range fw.EventsToRegister() {
			pluginEvents[name] = append(pluginEvents[name], evs...)
		}
	}
	s.queue = queue.New(queue.Config{Clock: cfg.Clock, InitialBackoff: cfg.InitialBackoff, MaxBackoff: cfg.MaxBackoff, PluginEvents: pluginEvents})
	eventClient := cfg.EventClient
	if eventClient == nil {
		eventClient = cfg.Client
	}
	s.broadcast = events.NewBroadcaster(&events.EventSinkImpl{Interface: eventClient.EventsV1()})
	for name := range s.profiles {
		s.recorders[name] = s.broadcast.NewRecorder(scheme.Scheme, name)
	}
	if err := s.registerHandlers(); err != nil {
		return nil, err
	}
	return s, nil
}

// Start runs the scheduler until ctx is cancelled and returns after its goroutines (including
// in-flight bindings) have finished.
func (s *Scheduler) Start(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := s.broadcast.StartRecordingToSinkWithContext(ctx); err != nil {
		return fmt.Errorf("start event recording: %w", err)
	}
	defer s.broadcast.Shutdown()
	s.informers.Start(ctx.Done())
	defer s.informers.Shutdown()
	for typ, ok := range s.informers.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("informer for %v did not sync", typ)
		}
	}
	if !cache.WaitForCacheSync(ctx.Done(), s.handled...) {
		return fmt.Errorf("the scheduler's cache did not sync")
	}
	s.cfg.Logger.Info("scheduler started", "profiles", len(s.profiles), "nodes", len(s.cache.Snapshot().Nodes))
	var wg sync.WaitGroup
	wg.Go(func() { s.queue.Run(ctx) })
	for ctx.Err() == nil {
		if err := s.ScheduleOne(ctx); errors.Is(err, queue.ErrClosed) {
			break
		}
	}
	cancel()
	s.queue.Close()
	wg.Wait()
	s.binding.Wait()
	return nil
}

// ScheduleOne pops one pod and runs its scheduling cycle; binding continues in the background.
func (s *Scheduler) ScheduleOne(ctx context.Context) error {
	qp, err := s.queue.Pop(ctx)
	if err != nil {
		return err
	}
	pod := qp.Pod
	fw := s.profiles[pod.Spec.SchedulerName]
	if fw == nil || s.skip(pod) {
		s.queue.Done(pod.UID)
		return nil
	}
	start := s.cfg.Clock.Now()
	snap := s.cache.Snapshot()
	s.snapshot.Store(snap)
	state := framework.NewCycleState()
	res, err := s.schedulePod(ctx, fw, state, pod, snap)
	if err != nil {
		s.failed(ctx, fw, state, qp, err, start)
		return nil
	}
	s.assumeAndBind(ctx, fw, state, qp, res, start)
	return nil
}

// skip reports pods that need no scheduling any more: deleted, bound, or assumed already.
func (s *Scheduler) skip(pod *corev1.Pod) bool {
	if pod.DeletionTimestamp != nil || pod.Spec.NodeName != "" || s.cache.IsAssumed(pod.UID) {
		return true
	}
	cur, err := s.podLister.Pods(pod.Namespace).Get(pod.Name)
	return err != nil || cur.UID != pod.UID || cur.Spec.NodeName != "" || cur.DeletionTimestamp != nil
}
