package framework

// Snapshot is an immutable view of the nodes for one scheduling cycle, in a stable order.
type Snapshot struct {
	Nodes []*NodeInfo
	// index maps a node name to its position in Nodes; it is shared between snapshots with the
	// same node set and never modified.
	index                    map[string]int
	HavePodsWithAffinity     []*NodeInfo
	HavePodsWithAntiAffinity []*NodeInfo
	// ImageNumNodes counts the nodes holding each normalised image name.
	ImageNumNodes map[string]int
}

// NewSnapshot indexes nodes (already in order).
func NewSnapshot(nodes []*NodeInfo) *Snapshot {
	index := make(map[string]int, len(nodes))
	for i, n := range nodes {
		index[n.Name()] = i
	}
	return NewIndexedSnapshot(nodes, index)
}

// NewIndexedSnapshot uses a ready name → position index for nodes.
func NewIndexedSnapshot(nodes []*NodeInfo, index map[string]int) *Snapshot {
	s := &Snapshot{Nodes: nodes, index: index}
	for _, n := range nodes {
		if len(n.PodsWithAffinity) > 0 {
			s.HavePodsWithAffinity = append(s.HavePodsWithAffinity, n)
		}
		if len(n.PodsWithAntiAffinity) > 0 {
			s.HavePodsWithAntiAffinity = append(s.HavePodsWithAntiAffinity, n)
		}
	}
	return s
}

// Get returns a node by name, or nil.
func (s *Snapshot) Get(name string) *NodeInfo {
	if i, ok := s.index[name]; ok && i < len(s.Nodes) {
		return s.Nodes[i]
	}
	return nil
}
