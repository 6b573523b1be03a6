// Package cache is the scheduler's in-memory view of what each node already holds: bound pods
// as the informers report them, plus pods the scheduler has assumed onto a node the moment it
// decided, before the API server echoes the binding. Each scheduling cycle takes an immutable
// Snapshot; only nodes that changed since the last one are copied.
package cache

import (
	"fmt"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/klite/klite/internal/scheduler/framework"
)

type podState struct {
	info    *framework.PodInfo
	node    string
	assumed bool
}

// Cache holds NodeInfos for every node and every placed pod. It is safe for concurrent use.
type Cache struct {
	mu        sync.Mutex
	nodes     map[string]*framework.NodeInfo
	pods      map[types.UID]*podState
	dirty     map[string]bool
	images    map[string]int // image → nodes holding it
	imagesGen int64
	snap      map[string]*framework.NodeInfo
	snapNodes []*framework.NodeInfo
	snapImgs  map[string]int
	snapGen   int64
	order     []string // node names in snapshot order
	orderOK   bool
	index     map[string]int // node name → position in order
	last      *framework.Snapshot
}

// New returns an empty cache.
func New() *Cache {
	return &Cache{
		nodes: map[string]*framework.NodeInfo{}, pods: map[types.UID]*podState{},
		dirty: map[string]bool{}, images: map[string]int{}, snap: map[string]*framework.NodeInfo{},
	}
}

func (c *Cache) nodeInfo(name string) *framework.NodeInfo {
	n, ok := c.nodes[name]
	if !ok {
		n = framework.NewNodeInfo(nil)
		c.nodes[name] = n
	}
	c.dirty[name] = true
	return n
}

// AddNode adds or replaces a node.
func (c *Cache) AddNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodeInfo(node.Name)
	if old := n.Node(); old != nil {
		c.countImages(n, -1)
	} else {
		c.orderOK = false
	}
	n.SetNode(node)
	c.countImages(n, 1)
}

// RemoveNode forgets a node; its pods stay accounted until they are deleted.
func (c *Cache) RemoveNode(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.nodes[name]
	if !ok {
		return
	}
	c.countImages(n, -1)
	n.SetNode(nil)
	if len(n.Pods) == 0 {
		delete(c.nodes, name)
	}
	c.dirty[name] = true
	c.orderOK = false
}

func (c *Cache) countImages(n *framework.NodeInfo, sign int) {
	if n.Node() == nil || len(n.ImageSizes) == 0 {
		return
	}
	for img := range n.ImageSizes {
		if c.images[img] += sign; c.images[img] <= 0 {
			delete(c.images, img)
		}
	}
	c.imagesGen++
}

// AssumePod places pod (with Spec.NodeName set) on its node before the binding is confirmed.
func (c *Cache) AssumePod(pod *corev1.Pod) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pods[pod.UID]; ok {
		return fmt.Errorf("pod %s/%s is already in the cache", pod.Namespace, pod.Name)
	}
	c.add(pod, true)
	return nil
}

// ForgetPod undoes AssumePod after a failed binding.
func (c *Cache) ForgetPod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok && ps.assumed {
		c.remove(pod.UID)
	}
}

// IsAssumed reports whether pod is assumed and not yet confirmed.
func (c *Cache) IsAssumed(uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[uid]
	return ok && ps.assumed
}

// AddPod records a bound pod (confirming it if it was assumed) or updates it.
func (c *Cache) AddPod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pods[pod.UID]; ok {
		c.remove(pod.UID)
	}
	c.add(pod, false)
}

// RemovePod forgets a pod that was deleted or finished.
func (c *Cache) RemovePod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remove(pod.UID)
}

func (c *Cache) add(pod *corev1.Pod, assumed bool) {
	pi := framework.NewPodInfo(pod)
	c.nodeInfo(pod.Spec.NodeName).AddPod(pi)
	c.pods[pod.UID] = &podState{info: pi, node: pod.Spec.NodeName, assumed: assumed}
}

func (c *Cache) remove(uid types.UID) {
	ps, ok := c.pods[uid]
	if !ok {
		return
	}
	delete(c.pods, uid)
	n := c.nodeInfo(ps.node)
	_ = n.RemovePod(ps.info.Pod)
	if n.Node() == nil && len(n.Pods) == 0 {
		delete(c.nodes, ps.node)
	}
}

// NodeCount is the number of known nodes.
func (c *Cache) NodeCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.order)
}

// Snapshot returns the current state of every node with a Node object, in name order. Nodes
// unchanged since the previous snapshot share its NodeInfos.
func (c *Cache) Snapshot() *framework.Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name := range c.dirty {
		if n, ok := c.nodes[name]; ok && n.Node() != nil {
			c.snap[name] = n.Clone()
		} else {
			delete(c.snap, name)
		}
	}
	changed := len(c.dirty) > 0 || !c.orderOK
	clear(c.dirty)
	if !c.orderOK {
		c.order = c.order[:0]
		for name := range c.snap {
			c.order = append(c.order, name)
		}
		slices.Sort(c.order)
		c.orderOK = true
		c.index = make(map[string]int, len(c.order))
		for i, name := range c.order {
			c.index[name] = i
		}
	}
	if changed || c.snapNodes == nil {
		c.snapNodes = make([]*framework.NodeInfo, len(c.order))
		for i, name := range c.order {
			c.snapNodes[i] = c.snap[name]
		}
	}
	if changed || c.last == nil {
		c.last = framework.NewIndexedSnapshot(c.snapNodes, c.index)
	}
	s := *c.last
	s.ImageNumNodes = c.imagesSnapshot()
	return &s
}

func (c *Cache) imagesSnapshot() map[string]int {
	if c.snapGen != c.imagesGen || c.snapImgs == nil {
		c.snapImgs = make(map[string]int, len(c.images))
		for k, v := range c.images {
			c.snapImgs[k] = v
		}
		c.snapGen = c.imagesGen
	}
	return c.snapImgs
}
