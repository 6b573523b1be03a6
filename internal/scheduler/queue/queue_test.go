package queue

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/klite/klite/internal/scheduler/framework"
)

func pod(name string, priority int32) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name)}, Spec: corev1.PodSpec{Priority: &priority}}
}

func newQueue() (*Queue, *clocktesting.FakeClock) {
	clk := clocktesting.NewFakeClock(time.Unix(1000, 0))
	return New(Config{Clock: clk, PluginEvents: map[string][]framework.ClusterEvent{
		"Fit":   {{Resource: framework.Pod, Action: framework.Delete}},
		"Taint": {{Resource: framework.Node, Action: framework.Update}},
	}}), clk
}

func pop(t *testing.T, q *Queue) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	p, err := q.Pop(ctx)
	if err != nil {
		t.Fatalf("pop: %v", err)
	}
	q.Done(p.Pod.UID)
	return p.Pod.Name
}

func TestPopOrdersByPriorityThenArrival(t *testing.T) {
	q, clk := newQueue()
	q.Add(pod("low-old", 0))
	clk.Step(time.Second)
	q.Add(pod("high", 10))
	q.Add(pod("low-new", 0))
	for _, want := range []string{"high", "low-old", "low-new"} {
		if got := pop(t, q); got != want {
			t.Fatalf("popped %s, want %s", got, want)
		}
	}
}

func TestUnschedulablePodsMoveOnlyOnEventsTheirPluginsWant(t *testing.T) {
	tests := []struct {
		name     string
		plugins  sets.Set[string]
		event    framework.ClusterEvent
		wantMove bool
	}{
		{"pod delete helps a resource-fit rejection", sets.New("Fit"), framework.ClusterEvent{Resource: framework.Pod, Action: framework.Delete}, true},
		{"node update does not help a resource-fit rejection", sets.New("Fit"), framework.ClusterEvent{Resource: framework.Node, Action: framework.Update}, false},
		{"node update helps a taint rejection", sets.New("Taint"), framework.ClusterEvent{Resource: framework.Node, Action: framework.Update}, true},
		{"unknown plugin moves on anything", sets.New("Other"), framework.ClusterEvent{Resource: framework.Node, Action: framework.Add}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, clk := newQueue()
			q.Add(pod("p", 0))
			ctx := context.Background()
			p, _ := q.Pop(ctx)
			p.UnschedulableBy = tc.plugins
			q.AddUnschedulable(p)
			q.Done(p.Pod.UID)
			clk.Step(time.Minute) // past any backoff
			q.MoveOnEvent(tc.event)
			active, _, unsched := q.Len()
			if moved := active == 1 && unsched == 0; moved != tc.wantMove {
				t.Fatalf("moved = %v, want %v", moved, tc.wantMove)
			}
		})
	}
}

func TestBackoffGrowsAndExpires(t *testing.T) {
	q, clk := newQueue()
	q.Add(pod("p", 0))
	for attempt, wantBackoff := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		p, _ := q.Pop(context.Background())
		q.AddUnschedulable(p) // no plugins: an error, straight to backoff
		q.Done(p.Pod.UID)
		clk.Step(wantBackoff - time.Millisecond)
		q.flushBackoff()
		if a, b, _ := q.Len(); a != 0 || b != 1 {
			t.Fatalf("attempt %d: active %d backoff %d before %v elapsed", attempt+1, a, b, wantBackoff)
		}
		clk.Step(time.Millisecond)
		q.flushBackoff()
		if a, _, _ := q.Len(); a != 1 {
			t.Fatalf("attempt %d: not active after %v", attempt+1, wantBackoff)
		}
	}
}
