package kubelet

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// syncPod drives a live pod one step towards its spec: sandbox, volumes,
// init containers in order, then containers; then it writes the status.
func (w *podWorker) syncPod(ctx context.Context, pod *corev1.Pod) (time.Duration, error) {
	k := w.k
	if w.startTime.IsZero() {
		w.startTime = time.Now()
		if pod.Status.StartTime != nil {
			w.startTime = pod.Status.StartTime.Time
		}
	}
	// A view no older than half a resync period, and newer than our last change.
	since := time.Now().Add(-k.cfg.ResyncPeriod / 2)
	if w.lastChange.After(since) {
		since = w.lastChange
	}
	rp, err := k.getRuntimePod(ctx, pod.UID, since)
	if err != nil {
		return time.Second, err
	}
	next := k.cfg.ResyncPeriod
	if terminal(pod.Status.Phase) {
		return 10 * next, w.stopSandboxes(ctx, rp)
	}
	if err := k.mountVolumes(ctx, pod); err != nil {
		k.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedMount", "MountVolume.SetUp failed: %v", err)
		return w.writeStatus(ctx, pod, rp, 2*next)
	}
	if rp.sandbox == nil {
		if rp, err = w.createSandbox(ctx, pod, rp); err != nil {
			k.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedCreatePodSandBox", "Failed to create pod sandbox: %v", err)
			return w.writeStatus(ctx, pod, rp, 2*next)
		}
	}
	if after, started := w.syncContainers(ctx, pod, rp); started || after < next {
		if after < next {
			next = after
		}
		if rp, err = k.getRuntimePod(ctx, pod.UID, time.Now()); err != nil {
			return time.Second, err
		}
	}
	return w.writeStatus(ctx, pod, rp, next)
}

func terminal(p corev1.PodPhase) bool { return p == corev1.PodSucceeded || p == corev1.PodFailed }

// stopSandboxes stops a finished pod's sandboxes (freeing its IP), keeping
// the exited containers for their logs.
func (w *podWorker) stopSandboxes(ctx context.Context, rp *runtimePod) error {
	for _, sb := range rp.sandboxes {
		if sb.State == runtimeapi.PodSandboxState_SANDBOX_READY {
			w.lastChange = time.Now()
			if _, err := w.k.runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
				return err
			}
		}
	}
	return nil
}

// createSandbox replaces dead sandboxes with a new one.
func (w *podWorker) createSandbox(ctx context.Context, pod *corev1.Pod, rp *runtimePod) (*runtimePod, error) {
	k := w.k
	for _, sb := range rp.sandboxes {
		if _, err := k.runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			return rp, err
		}
	}
	cfg := k.sandboxConfig(pod, uint32(len(rp.sandboxes)))
	if _, err := k.runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg}); err != nil {
		return rp, err
	}
	for _, sb := range rp.sandboxes {
		_, _ = k.runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.Id})
	}
	w.lastChange = time.Now()
	return k.getRuntimePod(ctx, pod.UID, w.lastChange)
}

// syncContainers starts what should run now. It returns how soon to look
// again and whether it started anything.
func (w *podWorker) syncContainers(ctx context.Context, pod *corev1.Pod, rp *runtimePod) (time.Duration, bool) {
	after, started, initDone := w.syncInit(ctx, pod, rp)
	if !initDone {
		return after, started
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cs := rp.latest(c.Name)
		if cs != nil && cs.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
			if w.probeContainer(ctx, pod, c, cs) {
				continue
			}
			cs = w.refresh(ctx, cs)
		}
		if cs != nil && cs.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
			continue
		}
		if cs != nil && !shouldRestart(pod.Spec.RestartPolicy, cs) {
			continue
		}
		d, ok := w.startContainer(ctx, pod, c, rp, cs)
		started = started || ok
		after = min(after, d)
	}
	return after, started
}

// syncInit runs init containers one after the other; sidecars (restartPolicy
// Always) keep running. initDone reports all regular ones completed.
func (w *podWorker) syncInit(ctx context.Context, pod *corev1.Pod, rp *runtimePod) (after time.Duration, started, initDone bool) {
	after = w.k.cfg.ResyncPeriod
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cs := rp.latest(c.Name)
		sidecar := isSidecar(c)
		switch {
		case cs != nil && cs.State == runtimeapi.ContainerState_CONTAINER_RUNNING:
			if sidecar {
				w.probeContainer(ctx, pod, c, cs)
				continue
			}
			return after, false, false
		case cs != nil && cs.State == runtimeapi.ContainerState_CONTAINER_EXITED && cs.ExitCode == 0 && !sidecar:
			continue
		case cs != nil && cs.State == runtimeapi.ContainerState_CONTAINER_EXITED && !sidecar &&
			pod.Spec.RestartPolicy == corev1.RestartPolicyNever:
			return after, false, false // the pod failed
		}
		d, ok := w.startContainer(ctx, pod, c, rp, cs)
		return min(after, d), ok, false
	}
	return after, false, true
}

func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// shouldRestart applies the pod's restartPolicy to an exited container.
func shouldRestart(policy corev1.RestartPolicy, cs *runtimeapi.ContainerStatus) bool {
	if cs.State == runtimeapi.ContainerState_CONTAINER_CREATED {
		return true
	}
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return cs.ExitCode != 0
	default:
		return true
	}
}

func (w *podWorker) refresh(ctx context.Context, cs *runtimeapi.ContainerStatus) *runtimeapi.ContainerStatus {
	st, err := w.k.runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: cs.Id})
	if err != nil {
		return cs
	}
	return st.Status
}

// startContainer starts c unless its back-off forbids it yet; prev is its
// last instance (nil for the first start). It returns when to look again.
func (w *podWorker) startContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, rp *runtimePod, prev *runtimeapi.ContainerStatus) (time.Duration, bool) {
	k := w.k
	attempt := uint32(0)
	if prev != nil {
		attempt = prev.Metadata.GetAttempt() + 1
		if prev.State == runtimeapi.ContainerState_CONTAINER_CREATED {
			attempt = prev.Metadata.GetAttempt()
			_, _ = k.runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: prev.Id})
		} else if wait := w.backoffWait(pod, c.Name, prev); wait > 0 {
			return wait, false
		}
	}
	defer func() { w.lastChange = time.Now() }()
	imageRef, err := w.pullImage(ctx, pod, c)
	if err != nil {
		return k.cfg.ResyncPeriod, false
	}
	id, err := w.createContainer(ctx, pod, c, rp, imageRef, attempt)
	if err != nil {
		w.waiting[c.Name] = waitReason{"CreateContainerError", err.Error()}
		k.recorder.Eventf(containerRef(pod, c.Name), corev1.EventTypeWarning, "Failed", "Error: %v", err)
		return k.cfg.ResyncPeriod, false
	}
	k.recorder.Eventf(containerRef(pod, c.Name), corev1.EventTypeNormal, "Created", "Created container: %s", c.Name)
	if _, err := k.runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		w.waiting[c.Name] = waitReason{"RunContainerError", err.Error()}
		k.recorder.Eventf(containerRef(pod, c.Name), corev1.EventTypeWarning, "Failed", "Error: %v", err)
		return k.cfg.ResyncPeriod, false
	}
	delete(w.waiting, c.Name)
	k.recorder.Eventf(containerRef(pod, c.Name), corev1.EventTypeNormal, "Started", "Started container %s", c.Name)
	if c.Lifecycle != nil && c.Lifecycle.PostStart != nil {
		if !k.runHook(ctx, pod, c, id, c.Lifecycle.PostStart, "FailedPostStartHook") {
			_ = k.killContainer(ctx, pod, c.Name, id, gracePeriod(pod), "FailedPostStartHook")
		}
	}
	w.pruneContainers(ctx, rp, c.Name)
	return k.cfg.ResyncPeriod, true
}

// backoffWait returns how long c must still wait before its restart (and
// records CrashLoopBackOff), or 0 when it may start now. The first restart
// is immediate; each later one waits twice as long, from BackoffInitial up
// to BackoffMax; a container that ran for 10 minutes starts afresh.
func (w *podWorker) backoffWait(pod *corev1.Pod, name string, prev *runtimeapi.ContainerStatus) time.Duration {
	cfg := w.k.cfg
	finished := time.Unix(0, prev.FinishedAt)
	if time.Unix(0, prev.StartedAt).Add(10 * time.Minute).Before(finished) {
		delete(w.backoff, name)
	}
	cur := w.backoff[name]
	if cur == 0 {
		w.backoff[name] = cfg.BackoffInitial
		return 0
	}
	if wait := time.Until(finished.Add(cur)); wait > 0 {
		msg := fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", cur, name, pod.Name, pod.Namespace, pod.UID)
		if w.waiting[name].reason != "CrashLoopBackOff" || w.waiting[name].message != msg {
			w.k.recorder.Eventf(containerRef(pod, name), corev1.EventTypeWarning, "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)", name, pod.Name, pod.Namespace, pod.UID)
		}
		w.waiting[name] = waitReason{"CrashLoopBackOff", msg}
		return wait
	}
	w.backoff[name] = min(2*cur, cfg.BackoffMax)
	return 0
}

// pruneContainers keeps the newest two instances of a container (the
// running one and the last one, for lastState and --previous logs).
func (w *podWorker) pruneContainers(ctx context.Context, rp *runtimePod, name string) {
	list := rp.containers[name]
	for i := 1; i < len(list); i++ {
		_, _ = w.k.runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: list[i].Id})
	}
}
