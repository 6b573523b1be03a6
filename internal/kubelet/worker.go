package kubelet

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// podWorker owns one pod: a goroutine that syncs the pod's containers with
// its spec whenever the pod changes and every ResyncPeriod, and tears the
// pod down when it is deleted.
type podWorker struct {
	k      *Kubelet
	uid    types.UID
	signal chan struct{}

	mu   chanMutex
	pod  *corev1.Pod
	gone bool

	// State owned by the worker goroutine.
	waiting    map[string]waitReason
	backoff    map[string]time.Duration
	imgBackoff map[string]time.Time // no image pull before this
	imgDelay   map[string]time.Duration
	probes     map[string]*probeState
	lastWrite  *corev1.PodStatus
	// lastWriteUID is the pod lastWrite went to (a static pod's mirror changes).
	lastWriteUID types.UID
	startTime    time.Time
	// lastChange is when this kubelet last changed the pod in the runtime;
	// the worker reads no runtime snapshot older than that.
	lastChange time.Time
	// synced is set after the worker's first pass.
	synced bool
	// probeDue is when the next probe of this pass's containers is due.
	probeDue time.Time
}

// waitReason is why a container is not running (ErrImagePull, CrashLoopBackOff, ...).
type waitReason struct{ reason, message string }

// chanMutex is a mutex that is a channel, so it never needs a zero-value check.
type chanMutex chan struct{}

func (m chanMutex) lock()   { m <- struct{}{} }
func (m chanMutex) unlock() { <-m }

// podChanged dispatches an added or updated pod to its worker.
func (k *Kubelet) podChanged(o any) {
	pod, ok := o.(*corev1.Pod)
	if !ok || isMirror(pod) {
		return
	}
	k.dispatch(pod, false)
}

// podDeleted tells the pod's worker the pod is gone from the API server.
func (k *Kubelet) podDeleted(o any) {
	if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	pod, ok := o.(*corev1.Pod)
	if !ok || isMirror(pod) {
		return
	}
	k.dispatch(pod, true)
}

// dispatch hands pod to its worker, starting one when needed. A pod
// gone before it had a worker needs one only to tear down what the
// runtime still holds of it; the runtime is asked without k.mu held, which
// every worker and the relist need.
func (k *Kubelet) dispatch(pod *corev1.Pod, gone bool) {
	if gone && k.worker(pod.UID) == nil && !k.hasRuntimePod(pod.UID) {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	w := k.workers[pod.UID]
	if w == nil {
		if k.stopped {
			return
		}
		w = &podWorker{k: k, uid: pod.UID, signal: make(chan struct{}, 1), mu: make(chanMutex, 1),
			waiting: map[string]waitReason{}, backoff: map[string]time.Duration{},
			imgBackoff: map[string]time.Time{}, imgDelay: map[string]time.Duration{}, probes: map[string]*probeState{}}
		w.pod = pod // before the goroutine starts: it syncs at once
		w.lastChange = k.retired[pod.UID]
		k.workers[pod.UID] = w
		k.wg.Add(1)
		go w.run(k.ctx)
		k.cache.started.Do(func() {
			k.wg.Add(1)
			go func() { defer k.wg.Done(); k.cache.relistEvery(k.ctx, k.cfg.ResyncPeriod, k.wake) }()
		})
	}
	w.update(pod, gone)
}

// worker is the pod's worker, or nil.
func (k *Kubelet) worker(uid types.UID) *podWorker {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.workers[uid]
}

// wake makes the pod's worker sync now (the runtime changed under it).
func (k *Kubelet) wake(uid types.UID) {
	if w := k.worker(uid); w != nil {
		select {
		case w.signal <- struct{}{}:
		default:
		}
	}
}

// idlePeriod is how long a worker with nothing due sleeps: runtime changes
// (relist events), pod updates, probes and back-off expiry wake it sooner.
func (k *Kubelet) idlePeriod() time.Duration { return 10 * k.cfg.ResyncPeriod }

// update hands the worker a newer pod. It wakes the worker unless only
// the status changed (as the worker's own status writes do; upstream's
// config source ignores those too), so a status write causes no extra pass.
func (w *podWorker) update(pod *corev1.Pod, gone bool) {
	w.mu.lock()
	wake := gone || w.pod == nil || needsSync(w.pod, pod)
	w.pod, w.gone = pod, w.gone || gone
	w.mu.unlock()
	if wake {
		select {
		case w.signal <- struct{}{}:
		default:
		}
	}
}

// needsSync reports whether cur differs from old in what the worker acts
// on: spec, metadata it reads, deletion, or phase.
func needsSync(old, cur *corev1.Pod) bool {
	return old.UID != cur.UID || old.Status.Phase != cur.Status.Phase ||
		!apiequality.Semantic.DeepEqual(old.DeletionTimestamp, cur.DeletionTimestamp) ||
		!apiequality.Semantic.DeepEqual(old.DeletionGracePeriodSeconds, cur.DeletionGracePeriodSeconds) ||
		!apiequality.Semantic.DeepEqual(old.Labels, cur.Labels) ||
		!apiequality.Semantic.DeepEqual(old.Annotations, cur.Annotations) ||
		!apiequality.Semantic.DeepEqual(old.Spec, cur.Spec)
}

func (w *podWorker) snapshot() (*corev1.Pod, bool) {
	w.mu.lock()
	defer w.mu.unlock()
	return w.pod, w.gone
}

// run syncs until the pod is finished with or ctx is cancelled.
func (w *podWorker) run(ctx context.Context) {
	defer w.k.wg.Done()
	defer w.k.removeWorker(w.uid)
	next := time.Duration(0)
	for {
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-w.signal:
		case <-t.C:
		}
		t.Stop()
		pod, gone := w.snapshot()
		var done bool
		next, done = w.sync(ctx, pod, gone)
		if done {
			return
		}
	}
}

func (k *Kubelet) removeWorker(uid types.UID) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.workers, uid)
	k.retireLocked(uid, time.Now())
}

// retireLocked records that the runtime changed uid at a time no worker
// owned it, so that a later worker for uid reads no older snapshot. An
// entry older than the runtime cache's snapshot is dropped: every pass
// reads that snapshot or a newer one. k.mu is held.
func (k *Kubelet) retireLocked(uid types.UID, at time.Time) {
	taken := k.cache.taken()
	for u, t := range k.retired {
		if t.Before(taken) {
			delete(k.retired, u)
		}
	}
	k.retired[uid] = at
}

// sync does one pass over the pod; it returns when to look again, or done
// when the pod is torn down and the worker may exit.
func (w *podWorker) sync(ctx context.Context, pod *corev1.Pod, gone bool) (time.Duration, bool) {
	log := w.k.log.With("pod", pod.Namespace+"/"+pod.Name)
	if gone || pod.DeletionTimestamp != nil {
		if err := w.k.killPod(ctx, pod, gracePeriod(pod), "Stopping container"); err != nil {
			log.Warn("kill pod", "err", err)
			return time.Second, false
		}
		w.k.removeVolumes(pod)
		if !gone && !isStatic(pod) {
			if err := w.k.confirmDeletion(ctx, pod); err != nil {
				log.Warn("confirm pod deletion", "err", err)
				return time.Second, false
			}
		}
		return 0, true
	}
	if isStatic(pod) {
		if m := w.k.static.mirrorOf(pod); m != nil {
			pod = pod.DeepCopy()
			pod.Status = m.Status // the mirror holds the static pod's status
		}
	}
	next, err := w.syncPod(ctx, pod)
	if err != nil && ctx.Err() == nil {
		log.Warn("sync pod", "err", err)
	}
	return next, false
}

// gracePeriod is the pod's deletion grace period, else its spec's, else 30 s.
func gracePeriod(pod *corev1.Pod) int64 {
	if pod.DeletionGracePeriodSeconds != nil {
		return *pod.DeletionGracePeriodSeconds
	}
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		return *pod.Spec.TerminationGracePeriodSeconds
	}
	return 30
}
