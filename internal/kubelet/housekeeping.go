package kubelet

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// housekeeping restarts workers for every pod the informer has (so pods
// are adopted after a restart) and kills runtime pods nobody owns: pods
// deleted, or moved to another node, while the kubelet was away.
func (k *Kubelet) housekeeping(ctx context.Context) {
	for {
		k.cleanupOrphans(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Second):
		}
	}
}

func (k *Kubelet) cleanupOrphans(ctx context.Context) {
	sbs, err := k.runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return
	}
	for _, sb := range sbs.Items {
		uid := types.UID(sb.Labels[labelPodUID])
		if uid == "" || k.owned(uid) {
			continue
		}
		pod := &corev1.Pod{}
		pod.UID, pod.Name, pod.Namespace = uid, sb.Metadata.GetName(), sb.Metadata.GetNamespace()
		k.log.Info("killing orphaned pod", "pod", pod.Namespace+"/"+pod.Name, "uid", uid)
		if err := k.killPod(ctx, pod, 2, "Stopping orphaned container"); err != nil {
			k.log.Warn("kill orphaned pod", "err", err)
		}
		k.mu.Lock()
		k.retireLocked(uid, time.Now())
		k.mu.Unlock()
		k.removeVolumes(pod)
	}
}

// owned reports whether a worker, the informer or the manifests hold uid.
func (k *Kubelet) owned(uid types.UID) bool {
	k.mu.Lock()
	_, ok := k.workers[uid]
	k.mu.Unlock()
	if ok || k.static.known(uid) {
		return true
	}
	pods, _ := k.pods.List(labels.Everything())
	for _, p := range pods {
		if p.UID == uid {
			return true
		}
	}
	return false
}
