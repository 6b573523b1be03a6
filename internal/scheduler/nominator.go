package scheduler

import (
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/klite/klite/internal/scheduler/framework"
)

// nominator remembers the pending pods preemption nominated to a node, so that filters for
// other pods count them there (upstream's nominator). It learns of nominations the moment
// preemption makes them and from status.nominatedNodeName on pending pods; a pod leaves it
// when it is assumed, bound, deleted or loses its nomination.
type nominator struct {
	mu     sync.RWMutex
	byNode map[string][]*framework.PodInfo
	nodeOf map[types.UID]string
	// count mirrors len(nodeOf) so that filters skip the lock when nothing is nominated.
	count atomic.Int64
}

func newNominator() *nominator {
	return &nominator{byNode: map[string][]*framework.PodInfo{}, nodeOf: map[types.UID]string{}}
}

// add nominates pod to node, replacing any earlier nomination of it.
func (n *nominator) add(pod *corev1.Pod, node string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.removeLocked(pod.UID)
	if node == "" {
		return
	}
	n.byNode[node] = append(n.byNode[node], framework.NewPodInfo(pod))
	n.nodeOf[pod.UID] = node
	n.count.Add(1)
}

// remove forgets pod's nomination, if any.
func (n *nominator) remove(uid types.UID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.removeLocked(uid)
}

func (n *nominator) removeLocked(uid types.UID) {
	node, ok := n.nodeOf[uid]
	if !ok {
		return
	}
	delete(n.nodeOf, uid)
	n.count.Add(-1)
	pods := n.byNode[node]
	out := make([]*framework.PodInfo, 0, len(pods))
	for _, pi := range pods {
		if pi.Pod.UID != uid {
			out = append(out, pi)
		}
	}
	if len(out) == 0 {
		delete(n.byNode, node)
		return
	}
	n.byNode[node] = out
}

// nodeFor returns the node pod is nominated to ("" when none).
func (n *nominator) nodeFor(uid types.UID) string {
	if n.count.Load() == 0 {
		return ""
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.nodeOf[uid]
}

// podsFor returns a copy of the pods nominated to node.
func (n *nominator) podsFor(node string) []*framework.PodInfo {
	if n.count.Load() == 0 {
		return nil
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	pods := n.byNode[node]
	if len(pods) == 0 {
		return nil
	}
	return append([]*framework.PodInfo(nil), pods...)
}

// update follows a pending pod's informer update: a nomination in the new status wins; one
// that disappeared from the status is dropped; when neither version carries one, what
// preemption recorded in memory stands (its status patch may not have arrived yet).
func (n *nominator) update(old, cur *corev1.Pod) {
	switch {
	case cur.Status.NominatedNodeName != "":
		n.add(cur, cur.Status.NominatedNodeName)
	case old != nil && old.Status.NominatedNodeName != "":
		n.remove(cur.UID)
	default:
		if node := n.nodeFor(cur.UID); node != "" {
			n.add(cur, node) // refresh the pod (its spec or priority may have changed)
		}
	}
}
