package kubelet

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// systemCriticalPriority is the priority from which pods are critical and
// never evicted (upstream's scheduling.SystemCriticalPriority).
const systemCriticalPriority = 2000000000

// pressure remembers when each pressure condition was last observed, so a
// condition stays until EvictionPressureTransitionPeriod has passed
// without it (upstream's --eviction-pressure-transition-period).
type pressure struct {
	mu   sync.Mutex
	seen map[corev1.NodeConditionType]time.Time
}

func (p *pressure) observe(c corev1.NodeConditionType, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen == nil {
		p.seen = map[corev1.NodeConditionType]time.Time{}
	}
	p.seen[c] = now
}

// under reports whether the condition holds at now.
func (p *pressure) under(c corev1.NodeConditionType, now time.Time, transition time.Duration) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.seen[c]
	return ok && now.Sub(t) < transition
}

// runEviction samples the node every EvictionMonitoringPeriod: it refreshes
// the stats (and cpu rates) and the images' use, runs image GC every
// ImageGCPeriod, and when a
// hard eviction threshold is met sets the pressure condition, reclaims
// images for disk signals, and evicts at most one pod.
func (k *Kubelet) runEviction(ctx context.Context) {
	t := time.NewTicker(k.cfg.EvictionMonitoringPeriod)
	defer t.Stop()
	var lastGC time.Time
	for {
		now := time.Now()
		if sum, err := k.Summary(ctx); err != nil {
			if ctx.Err() == nil {
				k.log.Warn("node stats", "err", err)
			}
		} else {
			// Track image use every period, so last-used times and minimum
			// ages are exact to a period.
			if _, err := k.imageGC.detect(ctx, now); err != nil && ctx.Err() == nil {
				k.log.Warn("detect images", "err", err)
			}
			if now.Sub(lastGC) >= k.cfg.ImageGCPeriod {
				lastGC = now
				if err := k.imageGC.garbageCollect(ctx, sum.Node.Runtime.ImageFs, now); err != nil && ctx.Err() == nil {
					k.log.Warn("image garbage collection", "err", err)
				}
			}
			k.synchronize(ctx, sum, now)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// synchronize acts on one observation of the node.
func (k *Kubelet) synchronize(ctx context.Context, sum *statsapi.Summary, now time.Time) {
	obs := observe(sum)
	met := metThresholds(k.cfg.EvictionHard, obs)
	if len(met) == 0 {
		return
	}
	for _, t := range met {
		k.pressure.observe(signalCondition(t.Signal), now)
	}
	if diskSignal(met[0].Signal) {
		if met = k.reclaimImages(ctx, met); len(met) == 0 {
			return
		}
		if s, err := k.Summary(ctx); err == nil {
			sum, obs = s, observe(s)
		}
	}
	t := met[0]
	res, _ := signalResource(t.Signal)
	cands := k.evictionCandidates(sum)
	if len(cands) == 0 {
		k.log.Info("eviction threshold met but no pod to evict", "threshold", t.String())
		return
	}
	rankForEviction(cands, res)
	msg := evictionMessage(t, obs[t.Signal], cands[0], res)
	if err := k.evictPod(ctx, cands[0].pod, msg); err != nil && ctx.Err() == nil {
		k.log.Warn("evict pod", "pod", cands[0].pod.Namespace+"/"+cands[0].pod.Name, "err", err)
	}
}

// reclaimImages removes every unused image (as upstream does before
// evicting for disk pressure) and returns the thresholds still met.
func (k *Kubelet) reclaimImages(ctx context.Context, met []Threshold) []Threshold {
	if _, err := k.imageGC.freeSpace(ctx, ^uint64(0), time.Now()); err != nil {
		k.log.Warn("reclaim images", "err", err)
		return met
	}
	sum, err := k.Summary(ctx)
	if err != nil {
		return met
	}
	return metThresholds(k.cfg.EvictionHard, observe(sum))
}

// evictionCandidates are the running API pods: static and critical pods
// are never evicted, finished or deleted ones need not be.
func (k *Kubelet) evictionCandidates(sum *statsapi.Summary) []candidate {
	var out []candidate
	for _, ps := range sum.Pods {
		pod := k.podOf(ps.PodRef)
		if pod == nil || isStatic(pod) || terminal(pod.Status.Phase) || pod.DeletionTimestamp != nil ||
			podPriority(pod) >= systemCriticalPriority {
			continue
		}
		out = append(out, candidate{pod: pod, stats: ps})
	}
	return out
}

// evictPod marks the pod Failed (reason Evicted) in the API server, hands
// that to its worker (which then keeps its sandbox stopped) and kills it.
func (k *Kubelet) evictPod(ctx context.Context, pod *corev1.Pod, msg string) error {
	k.log.Info("evicting pod", "pod", pod.Namespace+"/"+pod.Name, "message", msg)
	k.recorder.Event(pod, corev1.EventTypeWarning, "Evicted", msg)
	updated, err := k.markEvicted(ctx, pod, msg)
	if err != nil {
		return err
	}
	k.dispatch(updated, false)
	rp, err := k.getRuntimePod(ctx, pod.UID, time.Now())
	if err != nil {
		return err
	}
	for name, list := range rp.containers {
		if list[0].State == runtimeapi.ContainerState_CONTAINER_RUNNING {
			if err := k.killContainer(ctx, pod, name, list[0].Id, 1, "Stopping container"); err != nil {
				return err
			}
		}
	}
	// The worker, seeing the pod Failed, stops its sandboxes too; this
	// only makes it immediate.
	for _, sb := range rp.sandboxes {
		if _, err := k.runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			k.log.Debug("stop evicted pod's sandbox", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		}
	}
	return nil
}

// markEvicted writes phase Failed, reason Evicted and a DisruptionTarget
// condition, retrying on conflicts with the pod's worker.
func (k *Kubelet) markEvicted(ctx context.Context, pod *corev1.Pod, msg string) (*corev1.Pod, error) {
	pods := k.client.CoreV1().Pods(pod.Namespace)
	for attempt := 0; ; attempt++ {
		cur, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		if cur.UID != pod.UID {
			return nil, apierrors.NewNotFound(corev1.Resource("pods"), pod.Name)
		}
		cur.Status.Phase, cur.Status.Reason, cur.Status.Message = corev1.PodFailed, "Evicted", msg
		setPodCondition(&cur.Status, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
			Reason: "TerminationByKubelet", Message: msg, LastTransitionTime: metav1.Now()})
		for _, c := range []corev1.PodConditionType{corev1.PodReady, corev1.ContainersReady} {
			setPodCondition(&cur.Status, corev1.PodCondition{Type: c, Status: corev1.ConditionFalse,
				Reason: "PodFailed", LastTransitionTime: metav1.Now()})
		}
		out, err := pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) && attempt < 5 {
			continue
		}
		return out, err
	}
}

// setPodCondition replaces or adds a condition, keeping the transition
// time when its status does not change.
func setPodCondition(st *corev1.PodStatus, c corev1.PodCondition) {
	for i := range st.Conditions {
		if st.Conditions[i].Type == c.Type {
			if st.Conditions[i].Status == c.Status {
				c.LastTransitionTime = st.Conditions[i].LastTransitionTime
			}
			st.Conditions[i] = c
			return
		}
	}
	st.Conditions = append(st.Conditions, c)
}
