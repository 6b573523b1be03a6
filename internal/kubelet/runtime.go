package kubelet

import (
	"context"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Labels the kubelet puts on sandboxes and containers, as upstream does.
const (
	labelPodName       = "io.kubernetes.pod.name"
	labelPodNamespace  = "io.kubernetes.pod.namespace"
	labelPodUID        = "io.kubernetes.pod.uid"
	labelContainerName = "io.kubernetes.container.name"
)

// runtimePod is what the runtime holds for one pod.
type runtimePod struct {
	sandbox    *runtimeapi.PodSandboxStatus // the newest ready sandbox, or nil
	sandboxes  []*runtimeapi.PodSandbox     // all of them
	containers map[string][]*runtimeapi.ContainerStatus
}

// latest is the newest container of that name, or nil.
func (rp *runtimePod) latest(name string) *runtimeapi.ContainerStatus {
	if cs := rp.containers[name]; len(cs) > 0 {
		return cs[0]
	}
	return nil
}

// previous is the container before the newest, or nil.
func (rp *runtimePod) previous(name string) *runtimeapi.ContainerStatus {
	if cs := rp.containers[name]; len(cs) > 1 {
		return cs[1]
	}
	return nil
}

// record puts a container status the worker just read into rp: it
// replaces the instance with its ID, or becomes the newest of its name.
func (rp *runtimePod) record(st *runtimeapi.ContainerStatus) {
	name := st.Metadata.GetName()
	list := rp.containers[name]
	for i, cs := range list {
		if cs.Id == st.Id {
			list[i] = st
			return
		}
	}
	rp.containers[name] = append([]*runtimeapi.ContainerStatus{st}, list...)
}

// drop forgets a container the worker removed.
func (rp *runtimePod) drop(name, id string) {
	list := rp.containers[name]
	for i, cs := range list {
		if cs.Id == id {
			rp.containers[name] = append(list[:i:i], list[i+1:]...)
			return
		}
	}
}

// getRuntimePod returns the pod's sandboxes and containers from a runtime
// snapshot taken at or after since (see runtimeCache).
func (k *Kubelet) getRuntimePod(ctx context.Context, uid types.UID, since time.Time) (*runtimePod, error) {
	snap, err := k.cache.get(ctx, since)
	if err != nil {
		return nil, err
	}
	rp := &runtimePod{containers: map[string][]*runtimeapi.ContainerStatus{}}
	for _, sb := range snap.sandboxes[uid] {
		rp.sandboxes = append(rp.sandboxes, sb.PodSandbox)
		if sb.State == runtimeapi.PodSandboxState_SANDBOX_READY && rp.sandbox == nil {
			rp.sandbox = sb.status
		}
	}
	for _, c := range snap.containers[uid] {
		name := c.Metadata.GetName()
		rp.containers[name] = append(rp.containers[name], c)
	}
	for _, list := range rp.containers {
		sort.Slice(list, func(i, j int) bool {
			if list[i].Metadata.GetAttempt() != list[j].Metadata.GetAttempt() {
				return list[i].Metadata.GetAttempt() > list[j].Metadata.GetAttempt()
			}
			return list[i].CreatedAt > list[j].CreatedAt
		})
	}
	return rp, nil
}

// hasRuntimePod reports whether the runtime has a sandbox of the pod.
func (k *Kubelet) hasRuntimePod(uid types.UID) bool {
	sbs, err := k.runtime.ListPodSandbox(k.ctx, &runtimeapi.ListPodSandboxRequest{
		Filter: &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{labelPodUID: string(uid)}}})
	return err != nil || len(sbs.Items) > 0
}

// killPod runs preStop hooks, stops every running container with the
// grace period (SIGTERM, then SIGKILL), then stops and removes the sandboxes.
func (k *Kubelet) killPod(ctx context.Context, pod *corev1.Pod, grace int64, msg string) error {
	rp, err := k.getRuntimePod(ctx, pod.UID, time.Now())
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(rp.containers))
	for name, list := range rp.containers {
		if list[0].State != runtimeapi.ContainerState_CONTAINER_RUNNING {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- k.killContainer(ctx, pod, name, list[0].Id, grace, msg)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	for _, sb := range rp.sandboxes {
		if _, err := k.runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			return err
		}
		if _, err := k.runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			return err
		}
	}
	return nil
}

// killContainer runs the preStop hook and stops one container.
func (k *Kubelet) killContainer(ctx context.Context, pod *corev1.Pod, name, id string, grace int64, msg string) error {
	ref := containerRef(pod, name)
	k.recorder.Eventf(ref, corev1.EventTypeNormal, "Killing", "%s %s", msg, name)
	if c := specContainer(pod, name); c != nil && c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
		k.runHook(ctx, pod, c, id, c.Lifecycle.PreStop, "FailedPreStopHook")
	}
	_, err := k.runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: grace})
	return err
}

// confirmDeletion deletes the pod with grace period 0: its containers are gone.
func (k *Kubelet) confirmDeletion(ctx context.Context, pod *corev1.Pod) error {
	zero := int64(0)
	err := k.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &pod.UID}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// specContainer finds a container or init container of the pod by name.
func specContainer(pod *corev1.Pod, name string) *corev1.Container {
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// containerRef is the event target of one container of the pod.
func containerRef(pod *corev1.Pod, name string) *corev1.ObjectReference {
	ref := &corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name,
		UID: pod.UID, ResourceVersion: pod.ResourceVersion}
	for i, c := range pod.Spec.InitContainers {
		if c.Name == name {
			ref.FieldPath = "spec.initContainers{" + name + "}"
			_ = i
		}
	}
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			ref.FieldPath = "spec.containers{" + name + "}"
		}
	}
	return ref
}
