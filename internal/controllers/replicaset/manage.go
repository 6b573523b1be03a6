package replicaset

import (
	"context"
	"fmt"
	"sort"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/klite/klite/internal/controller"
)

// manage creates or deletes pods so that rs has spec.replicas of them.
func (c *Controller) manage(ctx context.Context, key string, rs *appsv1.ReplicaSet, orig runtime.Object, pods []*corev1.Pod) error {
	want := int32(1)
	if rs.Spec.Replicas != nil {
		want = *rs.Spec.Replicas
	}
	diff := len(pods) - int(want)
	switch {
	case diff < 0:
		return c.createPods(ctx, key, rs, orig, min(-diff, c.cfg.BurstReplicas))
	case diff > 0:
		return c.deletePods(ctx, key, orig, podsToDelete(pods, min(diff, c.cfg.BurstReplicas)))
	}
	return nil
}

// createPods creates n pods in slow-start batches; the creates never made are un-expected.
func (c *Controller) createPods(ctx context.Context, key string, rs *appsv1.ReplicaSet, orig runtime.Object, n int) error {
	c.exp.ExpectCreations(key, n)
	var mu sync.Mutex
	var names []string
	attempted := 0
	_, err := controller.SlowStartBatch(n, 1, func() error {
		mu.Lock()
		attempted++
		mu.Unlock()
		p, err := c.cfg.Client.CoreV1().Pods(rs.Namespace).Create(ctx, c.newPod(rs), metav1.CreateOptions{})
		if err != nil {
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil // namespace going: nothing to do, not a failure
			}
			c.exp.CreationObserved(key)
			return err
		}
		mu.Lock()
		names = append(names, p.Name)
		mu.Unlock()
		return nil
	})
	for range n - attempted {
		c.exp.CreationObserved(key) // never tried after a failed batch
	}
	for _, name := range names {
		c.cfg.Recorder.Eventf(orig, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %s", name)
	}
	if err != nil {
		c.cfg.Recorder.Eventf(orig, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
		return fmt.Errorf("create pods: %w", err)
	}
	return nil
}

// deletePods deletes the given pods in parallel.
func (c *Controller) deletePods(ctx context.Context, key string, orig runtime.Object, victims []*corev1.Pod) error {
	uids := make([]types.UID, len(victims))
	for i, p := range victims {
		uids[i] = p.UID
	}
	c.exp.ExpectDeletions(key, uids)
	errs := make(chan error, len(victims))
	var wg sync.WaitGroup
	for _, p := range victims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.cfg.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
			if err != nil && !apierrors.IsNotFound(err) {
				c.exp.DeletionObserved(key, p.UID)
				c.cfg.Recorder.Eventf(orig, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
				errs <- err
				return
			}
			if err != nil {
				c.exp.DeletionObserved(key, p.UID)
				return
			}
			c.cfg.Recorder.Eventf(orig, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %s", p.Name)
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return fmt.Errorf("delete pods: %w", err)
	}
	return nil
}

// podsToDelete picks the n least valuable pods: unscheduled before scheduled, pending before
// unknown before running, not ready before ready, ready for less time first, more restarts
// first, newer first.
func podsToDelete(pods []*corev1.Pod, n int) []*corev1.Pod {
	sorted := append([]*corev1.Pod(nil), pods...)
	sort.SliceStable(sorted, func(i, j int) bool { return lessValuable(sorted[i], sorted[j]) })
	return sorted[:n]
}

func lessValuable(a, b *corev1.Pod) bool {
	if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	if pa, pb := phaseRank(a.Status.Phase), phaseRank(b.Status.Phase); pa != pb {
		return pa < pb
	}
	ra, rb := readyTime(a), readyTime(b)
	if (ra == nil) != (rb == nil) {
		return ra == nil
	}
	if ra != nil && !ra.Equal(rb) {
		return ra.After(rb.Time)
	}
	if ca, cb := restarts(a), restarts(b); ca != cb {
		return ca > cb
	}
	return a.CreationTimestamp.After(b.CreationTimestamp.Time)
}

func phaseRank(p corev1.PodPhase) int {
	switch p {
	case corev1.PodPending, "":
		return 0
	case corev1.PodUnknown:
		return 1
	}
	return 2
}

func readyTime(p *corev1.Pod) *metav1.Time {
	for i := range p.Status.Conditions {
		if c := &p.Status.Conditions[i]; c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return &c.LastTransitionTime
		}
	}
	return nil
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, s := range p.Status.ContainerStatuses {
		n = max(n, s.RestartCount)
	}
	return n
}
