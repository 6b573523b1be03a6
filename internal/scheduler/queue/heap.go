package queue

import (
	"container/heap"

	"k8s.io/apimachinery/pkg/types"
)

// podHeap is a heap of queued pods with O(log n) update and delete by UID.
type podHeap struct {
	items []*QueuedPod
	index map[types.UID]int
	less  func(a, b *QueuedPod) bool
}

func newPodHeap(less func(a, b *QueuedPod) bool) *podHeap {
	return &podHeap{index: map[types.UID]int{}, less: less}
}

func (h *podHeap) Len() int           { return len(h.items) }
func (h *podHeap) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *podHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.index[h.items[i].Pod.UID] = i
	h.index[h.items[j].Pod.UID] = j
}
func (h *podHeap) Push(x any) {
	p := x.(*QueuedPod)
	h.index[p.Pod.UID] = len(h.items)
	h.items = append(h.items, p)
}
func (h *podHeap) Pop() any {
	p := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	delete(h.index, p.Pod.UID)
	return p
}

// upsert adds p or replaces the entry with the same UID.
func (h *podHeap) upsert(p *QueuedPod) {
	if i, ok := h.index[p.Pod.UID]; ok {
		h.items[i] = p
		heap.Fix(h, i)
		return
	}
	heap.Push(h, p)
}

func (h *podHeap) get(uid types.UID) *QueuedPod {
	if i, ok := h.index[uid]; ok {
		return h.items[i]
	}
	return nil
}

func (h *podHeap) delete(uid types.UID) *QueuedPod {
	i, ok := h.index[uid]
	if !ok {
		return nil
	}
	return heap.Remove(h, i).(*QueuedPod)
}

func (h *podHeap) peek() *QueuedPod {
	if len(h.items) == 0 {
		return nil
	}
	return h.items[0]
}

func (h *podHeap) pop() *QueuedPod { return heap.Pop(h).(*QueuedPod) }
