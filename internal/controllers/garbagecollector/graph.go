package garbagecollector

import (
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// node is what the graph keeps of one object.
type node struct {
	key    string // gcKey of the object
	owners []metav1.OwnerReference
}

// graph indexes objects by uid and, for each owner uid, the uids of the objects that name it
// (the owner need not exist). It is safe for concurrent use.
type graph struct {
	mu         sync.Mutex
	nodes      map[types.UID]node
	dependents map[types.UID]map[types.UID]bool
}

func newGraph() *graph {
	return &graph{nodes: map[types.UID]node{}, dependents: map[types.UID]map[types.UID]bool{}}
}

// set records uid's key and owners and returns the owners it no longer names.
func (g *graph) set(uid types.UID, key string, owners []metav1.OwnerReference) []types.UID {
	g.mu.Lock()
	defer g.mu.Unlock()
	var dropped []types.UID
	for _, o := range g.nodes[uid].owners {
		if !hasOwner(owners, o.UID) {
			dropped = append(dropped, o.UID)
			g.unlink(o.UID, uid)
		}
	}
	for _, o := range owners {
		if g.dependents[o.UID] == nil {
			g.dependents[o.UID] = map[types.UID]bool{}
		}
		g.dependents[o.UID][uid] = true
	}
	g.nodes[uid] = node{key: key, owners: owners}
	return dropped
}

// remove forgets uid and returns its owners.
func (g *graph) remove(uid types.UID) []metav1.OwnerReference {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.nodes[uid]
	for _, o := range n.owners {
		g.unlink(o.UID, uid)
	}
	delete(g.nodes, uid)
	return n.owners
}

func (g *graph) unlink(owner, dep types.UID) {
	delete(g.dependents[owner], dep)
	if len(g.dependents[owner]) == 0 {
		delete(g.dependents, owner)
	}
}

// dependentKeys are the keys of the objects that name owner.
func (g *graph) dependentKeys(owner types.UID) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	keys := make([]string, 0, len(g.dependents[owner]))
	for d := range g.dependents[owner] {
		keys = append(keys, g.nodes[d].key)
	}
	return keys
}

// key is the key of uid, if known.
func (g *graph) key(uid types.UID) (string, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n, ok := g.nodes[uid]
	return n.key, ok
}

func hasOwner(refs []metav1.OwnerReference, uid types.UID) bool {
	for _, r := range refs {
		if r.UID == uid {
			return true
		}
	}
	return false
}
