package kubelet

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// slowRelist is a runtime whose ListContainers (the kubelet's relist)
// takes delay, and which notes when each pod's sandbox was asked for.
type slowRelist struct {
	runtimeapi.RuntimeServiceClient
	delay   atomic.Int64 // a time.Duration
	mu      sync.Mutex
	sandbox map[string]time.Time
}

func (s *slowRelist) ListContainers(ctx context.Context, in *runtimeapi.ListContainersRequest, opts ...grpc.CallOption) (*runtimeapi.ListContainersResponse, error) {
	if d := time.Duration(s.delay.Load()); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return s.RuntimeServiceClient.ListContainers(ctx, in, opts...)
}

func (s *slowRelist) RunPodSandbox(ctx context.Context, in *runtimeapi.RunPodSandboxRequest, opts ...grpc.CallOption) (*runtimeapi.RunPodSandboxResponse, error) {
	s.mu.Lock()
	if _, ok := s.sandbox[in.Config.Metadata.Name]; !ok {
		s.sandbox[in.Config.Metadata.Name] = time.Now()
	}
	s.mu.Unlock()
	return s.RuntimeServiceClient.RunPodSandbox(ctx, in, opts...)
}

func (s *slowRelist) sandboxAsked(name string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.sandbox[name]
	return at, ok
}

// TestNewPodDoesNotWaitForRelist: a pod bound to the node gets its sandbox
// at once, even while a relist of the runtime (slow with many containers)
// is running; only the passes after the kubelet changed the pod wait for one.
func TestNewPodDoesNotWaitForRelist(t *testing.T) {
	const relist = 5 * time.Second
	rt := &slowRelist{sandbox: map[string]time.Time{}}
	e := newEnv(t, func(c *Config) { rt.RuntimeServiceClient = c.Runtime; c.Runtime = rt })
	e.create(e.pod("first", "sleep 3600"))
	e.waitPod("first", 30*time.Second, "Running", running)

	rt.delay.Store(int64(relist))
	defer rt.delay.Store(0)
	time.Sleep(2 * e.cfg.ResyncPeriod) // the periodic relist is now a slow one
	created := time.Now()
	e.create(e.pod("second", "sleep 3600"))
	deadline := created.Add(2 * relist)
	for time.Now().Before(deadline) {
		if at, ok := rt.sandboxAsked("second"); ok {
			if d := at.Sub(created); d > relist/2 {
				t.Errorf("sandbox of a new pod asked for %v after its creation, want well under the %v relist", d, relist)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no sandbox asked for within %v of the pod's creation", 2*relist)
}

// TestConditionsKeepTransitionTimes: an unchanged condition keeps its
// transition time, from the status the worker last wrote when the
// informer has not brought that write back yet; a changed one gets a new
// time.
func TestConditionsKeepTransitionTimes(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Minute))
	ready := func(s corev1.ConditionStatus, at metav1.Time) []corev1.PodCondition {
		return []corev1.PodCondition{{Type: corev1.PodReady, Status: s, LastTransitionTime: at}}
	}
	cases := []struct {
		name      string
		podConds  []corev1.PodCondition // what the informer holds
		lastWrite []corev1.PodCondition // what the worker last wrote (nil: nothing yet)
		want      metav1.Time           // zero: a new time
	}{
		{"from the pod", ready(corev1.ConditionTrue, t0), nil, t0},
		{"from the last write the informer lags behind", nil, ready(corev1.ConditionTrue, t1), t1},
		{"last write wins over an older pod", ready(corev1.ConditionTrue, t0), ready(corev1.ConditionTrue, t1), t1},
		{"changed since the last write", ready(corev1.ConditionTrue, t0), ready(corev1.ConditionFalse, t1), metav1.Time{}},
		{"new", nil, nil, metav1.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := &podWorker{}
			if tc.lastWrite != nil {
				w.lastWrite = &corev1.PodStatus{Conditions: tc.lastWrite}
			}
			pod := &corev1.Pod{Status: corev1.PodStatus{Conditions: tc.podConds}}
			st := &corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "main", Ready: true}}}
			before := time.Now().Add(-time.Second)
			var got *corev1.PodCondition
			for _, c := range w.conditions(pod, &runtimePod{}, st, true) {
				if c.Type == corev1.PodReady {
					got = &c
				}
			}
			switch {
			case got == nil || got.Status != corev1.ConditionTrue:
				t.Fatalf("Ready condition = %+v, want True", got)
			case !tc.want.IsZero() && !got.LastTransitionTime.Equal(&tc.want):
				t.Errorf("transition time %v, want %v", got.LastTransitionTime, tc.want)
			case tc.want.IsZero() && got.LastTransitionTime.Time.Before(before):
				t.Errorf("transition time %v, want now", got.LastTransitionTime)
			}
		})
	}
}
