// Package queue is the scheduler's pending-pod queue: an active heap (highest priority, then
// oldest first), a backoff heap for pods that failed recently, and an unschedulable set that a
// pod leaves only when a cluster event one of its rejecting plugins cares about happens (or,
// as upstream, after a long safety interval).
//
//	Add ─▶ active ─Pop─▶ scheduling cycle ─fails─▶ unschedulable ─event─▶ backoff/active
//	                                             └─error or event in flight─▶ backoff ─expires─▶ active
package queue

import (
	"context"
	"errors"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/clock"

	"github.com/klite/klite/internal/scheduler/framework"
)

// ErrClosed is returned by Pop after Close.
var ErrClosed = errors.New("scheduling queue closed")

// QueuedPod is a pending pod with its queueing history.
type QueuedPod struct {
	*framework.PodInfo
	Timestamp       time.Time // when it last entered the queue
	InitialAttempt  time.Time
	Attempts        int
	UnschedulableBy sets.Set[string] // plugins that rejected it last time
	schedulingCycle int64
	enteredUnsched  time.Time
}

// Config tunes the queue.
type Config struct {
	Clock              clock.WithTicker
	InitialBackoff     time.Duration // default 1s
	MaxBackoff         time.Duration // default 10s
	MaxInUnschedulable time.Duration // default 5m
	// PluginEvents maps plugins to the events that may make pods they rejected schedulable.
	PluginEvents map[string][]framework.ClusterEvent
}

// Queue is safe for concurrent use.
type Queue struct {
	cfg     Config
	mu      sync.Mutex
	cond    *sync.Cond
	active  *podHeap
	backoff *podHeap
	unsched map[types.UID]*QueuedPod
	// inFlight are popped pods not yet Done.
	inFlight         map[types.UID]bool
	cycle            int64
	moveRequestCycle int64
	closed           bool
}

// New returns an empty queue.
func New(cfg Config) *Queue {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.InitialBackoff <= 0 {
		cfg.InitialBackoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Second
	}
	if cfg.MaxInUnschedulable <= 0 {
		cfg.MaxInUnschedulable = 5 * time.Minute
	}
	q := &Queue{cfg: cfg, unsched: map[types.UID]*QueuedPod{}, inFlight: map[types.UID]bool{}, moveRequestCycle: -1}
	q.cond = sync.NewCond(&q.mu)
	q.active = newPodHeap(byPriority)
	q.backoff = newPodHeap(func(a, b *QueuedPod) bool { return q.backoffExpiry(a).Before(q.backoffExpiry(b)) })
	return q
}

func priority(p *corev1.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}

// byPriority is the PrioritySort order: higher priority first, then the earlier arrival.
func byPriority(a, b *QueuedPod) bool {
	pa, pb := priority(a.Pod), priority(b.Pod)
	if pa != pb {
		return pa > pb
	}
	return a.Timestamp.Before(b.Timestamp)
}

func (q *Queue) backoffExpiry(p *QueuedPod) time.Time {
	d := q.cfg.InitialBackoff
	for i := 1; i < p.Attempts && d < q.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return p.Timestamp.Add(min(d, q.cfg.MaxBackoff))
}

// Add queues a new pending pod.
func (q *Queue) Add(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.cfg.Clock.Now()
	q.active.upsert(&QueuedPod{PodInfo: framework.NewPodInfo(pod), Timestamp: now, InitialAttempt: now})
	q.cond.Broadcast()
}

// Update replaces a queued pod's object; an unschedulable pod whose spec or labels changed is
// retried.
func (q *Queue) Update(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	uid := pod.UID
	for _, h := range []*podHeap{q.active, q.backoff} {
		if p := h.get(uid); p != nil {
			c := *p
			c.PodInfo = framework.NewPodInfo(pod)
			h.upsert(&c)
			return
		}
	}
	if p, ok := q.unsched[uid]; ok {
		old := p.Pod
		p.PodInfo = framework.NewPodInfo(pod)
		if specOrLabelsChanged(old, pod) {
			delete(q.unsched, uid)
			q.requeue(p)
		}
		return
	}
	if !q.inFlight[uid] {
		now := q.cfg.Clock.Now()
		q.active.upsert(&QueuedPod{PodInfo: framework.NewPodInfo(pod), Timestamp: now, InitialAttempt: now})
		q.cond.Broadcast()
	}
}

// specOrLabelsChanged: a change the pod's own scheduling could depend on (not its status).
func specOrLabelsChanged(a, b *corev1.Pod) bool {
	return !apiequality.Semantic.DeepEqual(a.Spec, b.Spec) || !apiequality.Semantic.DeepEqual(a.Labels, b.Labels)
}

// Delete drops a pod from the queue.
func (q *Queue) Delete(uid types.UID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.active.delete(uid)
	q.backoff.delete(uid)
	delete(q.unsched, uid)
	delete(q.inFlight, uid) // a cycle still running for it will not requeue it
}

// Pop blocks until a pod is active and returns it; the caller must call Done.
func (q *Queue) Pop(ctx context.Context) (*QueuedPod, error) {
	stop := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		q.cond.Broadcast()
		q.mu.Unlock()
	})
	defer stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.active.Len() == 0 {
		if q.closed || ctx.Err() != nil {
			return nil, ErrClosed
		}
		q.cond.Wait()
	}
	p := q.active.pop()
	p.Attempts++
	q.cycle++
	p.schedulingCycle = q.cycle
	q.inFlight[p.Pod.UID] = true
	return p, nil
}

// Done marks a popped pod as finished with.
func (q *Queue) Done(uid types.UID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.inFlight, uid)
}

// AddUnschedulable returns a pod that failed its cycle. Pods rejected by plugins wait for an
// event; errors, and pods whose cycle overlapped an event, go to backoff.
func (q *Queue) AddUnschedulable(p *QueuedPod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.inFlight[p.Pod.UID] {
		return // deleted or bound while in flight
	}
	p.Timestamp = q.cfg.Clock.Now()
	if len(p.UnschedulableBy) == 0 || q.moveRequestCycle >= p.schedulingCycle {
		q.backoff.upsert(p)
		return
	}
	p.enteredUnsched = p.Timestamp
	q.unsched[p.Pod.UID] = p
}

// requeue puts p into backoff if it is still backing off, else active. q.mu is held.
func (q *Queue) requeue(p *QueuedPod) {
	if q.backoffExpiry(p).After(q.cfg.Clock.Now()) {
		q.backoff.upsert(p)
		return
	}
	q.active.upsert(p)
	q.cond.Broadcast()
}

// MoveOnEvent retries the unschedulable pods that event may help.
func (q *Queue) MoveOnEvent(event framework.ClusterEvent) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for uid, p := range q.unsched {
		if q.interested(p, event) {
			delete(q.unsched, uid)
			q.requeue(p)
		}
	}
	q.moveRequestCycle = q.cycle
}

func (q *Queue) interested(p *QueuedPod, event framework.ClusterEvent) bool {
	if len(p.UnschedulableBy) == 0 {
		return true
	}
	for plugin := range p.UnschedulableBy {
		events, ok := q.cfg.PluginEvents[plugin]
		if !ok {
			return true
		}
		for _, e := range events {
			if e.Matches(event) {
				return true
			}
		}
	}
	return false
}

// Run moves expired backoff pods to active every second and, every 30 seconds, retries pods
// that have been unschedulable longer than MaxInUnschedulable. It returns when ctx ends.
func (q *Queue) Run(ctx context.Context) {
	t := q.cfg.Clock.NewTicker(q.flushInterval())
	defer t.Stop()
	last := q.cfg.Clock.Now()
	for {
		select {
		case <-ctx.Done():
			q.Close()
			return
		case <-t.C():
			q.flushBackoff()
			if q.cfg.Clock.Since(last) >= 30*time.Second {
				q.flushUnschedulable()
				last = q.cfg.Clock.Now()
			}
		}
	}
}

func (q *Queue) flushInterval() time.Duration { return min(time.Second, q.cfg.InitialBackoff) }

func (q *Queue) flushBackoff() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.cfg.Clock.Now()
	for p := q.backoff.peek(); p != nil && !q.backoffExpiry(p).After(now); p = q.backoff.peek() {
		q.active.upsert(q.backoff.pop())
		q.cond.Broadcast()
	}
}

func (q *Queue) flushUnschedulable() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for uid, p := range q.unsched {
		if q.cfg.Clock.Since(p.enteredUnsched) > q.cfg.MaxInUnschedulable {
			delete(q.unsched, uid)
			q.requeue(p)
		}
	}
}

// Close wakes Pop callers with ErrClosed.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.cond.Broadcast()
}

// Len reports the pods in each sub-queue.
func (q *Queue) Len() (active, backoff, unschedulable int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.active.Len(), q.backoff.Len(), len(q.unsched)
}
