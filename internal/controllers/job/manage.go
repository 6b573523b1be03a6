package job

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/klite/klite/internal/controller"
)

// manage creates missing pods (after the failure backoff) or deletes surplus ones.
func (p *pass) manage(ctx context.Context) error {
	want, have := p.wantActive(), int32(len(p.active))
	if have > want {
		victims := append([]*corev1.Pod(nil), p.active...)
		sort.Slice(victims, func(i, j int) bool { return victims[j].CreationTimestamp.Before(&victims[i].CreationTimestamp) })
		return p.deletePods(ctx, victims[:have-want])
	}
	if p.replaceOnlyFailed() {
		have += p.terminating // a terminating pod keeps its place until it has failed
	}
	if have >= want {
		return nil
	}
	if wait := p.backoffRemaining(); wait > 0 {
		p.requeue = wait
		return nil
	}
	return p.createPods(ctx, p.newIndexes(int(want-have)))
}

// backoffRemaining is how long to wait before replacing failed pods: base*2^(failures-1).
func (p *pass) backoffRemaining() time.Duration {
	if len(p.failed) == 0 {
		return 0
	}
	var last time.Time
	for _, f := range p.failed {
		seen := p.c.failedAt(f)
		if seen.IsZero() {
			// The lister can show a failure before the informer's handler has noted it (a
			// sync for another reason): the failure is as recent as now, not as the pod's
			// second-precision timestamps, or its replacement would skip the back-off.
			p.c.noteFailure(f, false)
			seen = p.c.failedAt(f)
		}
		last = maxTime(last, maxTime(finishedAt(f), seen))
	}
	d := time.Duration(float64(p.c.cfg.BackoffBase) * math.Pow(2, float64(len(p.failed)-1)))
	d = min(d, p.c.cfg.BackoffMax)
	return last.Add(d).Sub(p.now)
}

func finishedAt(pod *corev1.Pod) time.Time {
	t := pod.CreationTimestamp.Time
	for _, s := range pod.Status.ContainerStatuses {
		if s.State.Terminated != nil {
			t = maxTime(t, s.State.Terminated.FinishedAt.Time)
		}
	}
	for _, c := range pod.Status.Conditions {
		t = maxTime(t, c.LastTransitionTime.Time)
	}
	return t
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// newIndexes lists n completion indexes to start (-1 each for a NonIndexed Job).
func (p *pass) newIndexes(n int) []int {
	out := make([]int, 0, n)
	if !p.indexed() {
		for range n {
			out = append(out, -1)
		}
		return out
	}
	taken := p.succeededIndexes()
	for i := range p.failedIndexes {
		taken[i] = true
	}
	holding := p.active
	if p.replaceOnlyFailed() {
		holding = append(append([]*corev1.Pod(nil), p.active...), p.terminatingPods...)
	}
	for _, pod := range holding {
		if pod == nil {
			continue
		}
		if i, ok := podIndex(pod); ok {
			taken[i] = true
		}
	}
	for i := 0; i < int(p.completions()) && len(out) < n; i++ {
		if !taken[i] {
			out = append(out, i)
		}
	}
	return out
}

func (p *pass) succeededIndexes() map[int]bool {
	out := map[int]bool{}
	for _, pod := range p.succeeded {
		if i, ok := podIndex(pod); ok && i < int(p.completions()) {
			out[i] = true
		}
	}
	return out
}

func podIndex(pod *corev1.Pod) (int, bool) {
	i, err := strconv.Atoi(pod.Annotations[IndexAnnotation])
	return i, err == nil && i >= 0
}

// createPods creates one pod per index in slow-start batches.
func (p *pass) createPods(ctx context.Context, indexes []int) error {
	p.c.exp.ExpectCreations(p.key, len(indexes))
	var mu sync.Mutex
	next, attempted := 0, 0
	_, err := controller.SlowStartBatch(len(indexes), 1, func() error {
		mu.Lock()
		idx := indexes[next]
		next++
		attempted++
		mu.Unlock()
		_, err := p.c.cfg.Client.CoreV1().Pods(p.job.Namespace).Create(ctx, p.newPod(idx), metav1.CreateOptions{})
		if err != nil {
			p.c.exp.CreationObserved(p.key)
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil
			}
			return err
		}
		return nil
	})
	for range len(indexes) - attempted {
		p.c.exp.CreationObserved(p.key)
	}
	if err != nil {
		p.c.cfg.Recorder.Eventf(p.job, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
		return fmt.Errorf("create pods: %w", err)
	}
	p.c.cfg.Recorder.Eventf(p.job, corev1.EventTypeNormal, "SuccessfulCreate", "Created %d pods", len(indexes))
	p.active = append(p.active, make([]*corev1.Pod, len(indexes))...)
	return nil
}

// deletePods deletes pods in parallel, with expectations.
func (p *pass) deletePods(ctx context.Context, pods []*corev1.Pod) error {
	if len(pods) == 0 {
		return nil
	}
	uids := make([]types.UID, len(pods))
	for i, pod := range pods {
		uids[i] = pod.UID
	}
	p.c.exp.ExpectDeletions(p.key, uids)
	var wg sync.WaitGroup
	errs := make(chan error, len(pods))
	for _, pod := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := p.c.cfg.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{})
			if err != nil {
				p.c.exp.DeletionObserved(p.key, pod.UID)
				if !apierrors.IsNotFound(err) {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	p.terminating += int32(len(pods) - len(errs))
	return <-errs
}
