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
	since := w.freshness()
	rp, err := k.getRuntimePod(ctx, pod.UID, since)
	if err != nil {
		return time.Second, err
	}
	w.synced = true
	next := k.idlePeriod()
	w.probeDue = time.Time{}
	if terminal(pod.Status.Phase) {
		return next, w.stopSandboxes(ctx, rp)
	}
	if err := k.mountVolumes(ctx, pod); err != nil {
		k.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedMount", "MountVolume.SetUp failed: %v", err)
		return w.writeStatus(ctx, pod, rp, 2*k.cfg.ResyncPeriod)
	}
	if rp.sandbox == nil {
		if rp, err = w.createSandbox(ctx, pod, rp); err != nil {
			k.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedCreatePodSandBox", "Failed to create pod sandbox: %v", err)
			return w.writeStatus(ctx, pod, rp, 2*k.cfg.ResyncPeriod)
		}
	}
	// syncContainers records what it starts or stops in rp: the status
	// below needs no relist.
	next = min(next, w.syncContainers(ctx, pod, rp))
	if !w.probeDue.IsZero() {
		next = min(next, max(time.Until(w.probeDue), 10*time.Millisecond))
	}
	return w.writeStatus(ctx, pod, rp, next)
}

// freshness is how recent a runtime snapshot the next pass needs: newer
// than the kubelet's last change to the pod (so it never misses what it
// did), and, after the first pass, no older than half a resync period
// (the workers syncing meanwhile share one relist). A new pod's first pass
// takes the snapshot at hand: nothing of the pod can be in the runtime
// that this kubelet did not see at its start or make itself (lastChange),
// and whatever changes under it wakes the worker at the next relist. So a
// new pod starts at once instead of waiting for a relist, which takes
// O(containers) and is slowest exactly when many pods arrive.
func (w *podWorker) freshness() time.Time {
	if !w.synced {
		return w.lastChange
	}
	since := time.Now().Add(-w.k.cfg.ResyncPeriod / 2)
	if w.lastChange.After(since) {
		since = w.lastChange
	}
	return since
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
	resp, err := k.runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		return rp, err
	}
	w.lastChange = time.Now()
	if len(rp.sandboxes) > 0 {
		for _, sb := range rp.sandboxes {
			_, _ = k.runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.Id})
		}
		w.lastChange = time.Now()
		return k.getRuntimePod(ctx, pod.UID, w.lastChange) // the old containers went with them
	}
	// A first sandbox: ask for it alone rather than relisting the runtime.
	st, err := k.runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: resp.PodSandboxId})
	if err != nil {
		return rp, err
	}
	k.cache.rememberSandbox(st.Status)
	sb := &runtimeapi.PodSandbox{Id: st.Status.Id, Metadata: st.Status.Metadata, State: st.Status.State,
		CreatedAt: st.Status.CreatedAt, Labels: st.Status.Labels, Annotations: st.Status.Annotations}
	return &runtimePod{sandbox: st.Status, sandboxes: []*runtimeapi.PodSandbox{sb}, containers: rp.containers}, nil
}

// syncContainers starts what should run now, recording in rp what it
// started or killed. It returns how soon to look again.
func (w *podWorker) syncContainers(ctx context.Context, pod *corev1.Pod, rp *runtimePod) time.Duration {
	after, initDone := w.syncInit(ctx, pod, rp)
	if !initDone {
		return after
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cs := rp.latest(c.Name)
		if cs != nil && cs.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
			if w.probeContainer(ctx, pod, c, cs) {
				continue
			}
			cs = w.refresh(ctx, rp, cs)
		}
		if cs != nil && cs.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
			continue
		}
		if cs != nil && !shouldRestart(pod.Spec.RestartPolicy, cs) {
			continue
		}
		after = min(after, w.startContainer(ctx, pod, c, rp, cs))
	}
	return after
}

// syncInit runs init containers one after the other; sidecars (restartPolicy
// Always) keep running. initDone reports all regular ones completed.
func (w *podWorker) syncInit(ctx context.Context, pod *corev1.Pod, rp *runtimePod) (after time.Duration, initDone bool) {
	after = w.k.idlePeriod()
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cs := rp.latest(c.Name)
		sidecar := isSidecar(c)
		switch {
		case cs != nil && cs.State == runtimeapi.ContainerState_CONTAINER_RUNNING:
			if sidecar {
				if !w.probeContainer(ctx, pod, c, cs) {
					w.refresh(ctx, rp, cs)
				}
				continue
			}
			return after, false
		case cs != nil && cs.State == runtimeapi.ContainerState_CONTAINER_EXITED && cs.ExitCode == 0 && !sidecar:
			continue
		case cs != nil && cs.State == runtimeapi.ContainerState_CONTAINER_EXITED && !sidecar &&
			pod.Spec.RestartPolicy == corev1.RestartPolicyNever:
			return after, false // the pod failed
		}
		return min(after, w.startContainer(ctx, pod, c, rp, cs)), false
	}
	return after, true
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

// refresh rereads one container after the worker changed it, and records
// it in rp as that name's newest instance.
func (w *podWorker) refresh(ctx context.Context, rp *runtimePod, cs *runtimeapi.ContainerStatus) *runtimeapi.ContainerStatus {
	st, err := w.k.runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: cs.Id})
	if err != nil {
		return cs
	}
	rp.record(st.Status)
	w.k.cache.rememberContainer(st.Status)
	return st.Status
}

// startContainer starts c unless its back-off forbids it yet; prev is its
// last instance (nil for the first start). The new instance is recorded
// in rp. It returns when to look again.
func (w *podWorker) startContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, rp *runtimePod, prev *runtimeapi.ContainerStatus) time.Duration {
	k := w.k
	attempt := uint32(0)
	if prev != nil {
		attempt = prev.Metadata.GetAttempt() + 1
		if prev.State == runtimeapi.ContainerState_CONTAINER_CREATED {
			attempt = prev.Metadata.GetAttempt()
			_, _ = k.runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: prev.Id})
			rp.drop(c.Name, prev.Id)
		} else if wait := w.backoffWait(pod, c.Name, prev); wait > 0 {
			return wait
		}
	}
	defer func() { w.lastChange = time.Now() }()
	imageRef, err := w.pullImage(ctx, pod, c)
	if err != nil {
		return k.cfg.ResyncPeriod
	}
	id, err := w.createContainer(ctx, pod, c, rp, imageRef, attempt)
	if err != nil {
		w.waiting[c.Name] = waitReason{"CreateContainerError", err.Error()}
		k.recorder.Eventf(containerRef(pod, c.Name), corev1.EventTypeWarning, "Failed", "Error: %v", err)
		return k.cfg.ResyncPeriod
	}
	k.recorder.Eventf(containerRef(pod, c.Name), corev1.EventTypeNormal, "Created", "Created container: %s", c.Name)
	if _, err := k.runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		w.waiting[c.Name] = waitReason{"RunContainerError", err.Error()}
		k.recorder.Eventf(containerRef(pod, c.Name), corev1.EventTypeWarning, "Failed", "Error: %v", err)
		w.refresh(ctx, rp, &runtimeapi.ContainerStatus{Id: id})
		return k.cfg.ResyncPeriod
	}
	started := time.Now()
	delete(w.waiting, c.Name)
	k.recorder.Eventf(containerRef(pod, c.Name), corev1.EventTypeNormal, "Started", "Started container %s", c.Name)
	w.pruneContainers(ctx, rp, c.Name)
	if c.Lifecycle != nil && c.Lifecycle.PostStart != nil {
		if !k.runHook(ctx, pod, c, id, c.Lifecycle.PostStart, "FailedPostStartHook") {
			_ = k.killContainer(ctx, pod, c.Name, id, gracePeriod(pod), "FailedPostStartHook")
			w.refresh(ctx, rp, &runtimeapi.ContainerStatus{Id: id})
			return k.cfg.ResyncPeriod
		}
	}
	// What the runtime would answer now, without asking it (a status
	// read is O(containers) in some runtimes); the next relist, which our
	// next pass waits for, brings the runtime's own.
	rp.record(&runtimeapi.ContainerStatus{Id: id, Metadata: &runtimeapi.ContainerMetadata{Name: c.Name, Attempt: attempt},
		State: runtimeapi.ContainerState_CONTAINER_RUNNING, CreatedAt: started.UnixNano(), StartedAt: started.UnixNano(),
		Image: &runtimeapi.ImageSpec{Image: c.Image}, ImageRef: imageRef})
	return k.cfg.ResyncPeriod
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
	if len(list) > 1 {
		rp.containers[name] = list[:1]
	}
}
