package framework

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// HostPort is one host port a pod uses.
type HostPort struct {
	IP       string
	Protocol corev1.Protocol
	Port     int32
}

// Conflicts reports whether two host ports cannot be used together.
func (p HostPort) Conflicts(o HostPort) bool {
	if p.Port != o.Port || p.Protocol != o.Protocol {
		return false
	}
	return p.IP == o.IP || p.IP == "0.0.0.0" || o.IP == "0.0.0.0"
}

// PodHostPorts lists the host ports a pod's containers ask for.
func PodHostPorts(pod *corev1.Pod) []HostPort {
	var out []HostPort
	add := func(cs []corev1.Container) {
		for _, c := range cs {
			for _, p := range c.Ports {
				if p.HostPort <= 0 {
					continue
				}
				hp := HostPort{IP: p.HostIP, Protocol: p.Protocol, Port: p.HostPort}
				if hp.IP == "" {
					hp.IP = "0.0.0.0"
				}
				if hp.Protocol == "" {
					hp.Protocol = corev1.ProtocolTCP
				}
				out = append(out, hp)
			}
		}
	}
	add(pod.Spec.InitContainers)
	add(pod.Spec.Containers)
	return out
}

// NodeInfo is one node and what is already placed on it (bound and assumed pods).
type NodeInfo struct {
	node                 *corev1.Node
	Pods                 []*PodInfo
	PodsWithAffinity     []*PodInfo
	PodsWithAntiAffinity []*PodInfo // pods with required anti-affinity terms
	UsedPorts            []HostPort
	Requested            Resource
	NonZeroRequested     Resource
	Allocatable          Resource
	// ImageSizes maps each normalised image name on the node to its size.
	ImageSizes map[string]int64
	// PVCRefCounts counts pods on the node using each "namespace/claim".
	PVCRefCounts map[string]int
	// Generation changes whenever the NodeInfo does; the cache's snapshot uses it.
	Generation int64
}

// NewNodeInfo returns a NodeInfo for node (nil while only pods are known).
func NewNodeInfo(node *corev1.Node) *NodeInfo {
	n := &NodeInfo{PVCRefCounts: map[string]int{}}
	n.SetNode(node)
	return n
}

// Node returns the node, nil when it has been deleted while pods remain.
func (n *NodeInfo) Node() *corev1.Node { return n.node }

// Name is the node's name ("" without a node).
func (n *NodeInfo) Name() string {
	if n.node == nil {
		return ""
	}
	return n.node.Name
}

// SetNode replaces the node object.
func (n *NodeInfo) SetNode(node *corev1.Node) {
	n.node = node
	if node == nil {
		return
	}
	n.Allocatable = NewResource(node.Status.Allocatable)
	n.ImageSizes = map[string]int64{}
	for _, img := range node.Status.Images {
		for _, name := range img.Names {
			n.ImageSizes[NormalizeImage(name)] = img.SizeBytes
		}
	}
}

// AddPod accounts for a pod placed on the node.
func (n *NodeInfo) AddPod(pi *PodInfo) {
	n.Pods = append(n.Pods, pi)
	if len(pi.RequiredAffinity)+len(pi.PreferredAffinity)+len(pi.RequiredAntiAffinity)+len(pi.PreferredAntiAffinity) > 0 {
		n.PodsWithAffinity = append(n.PodsWithAffinity, pi)
	}
	if len(pi.RequiredAntiAffinity) > 0 {
		n.PodsWithAntiAffinity = append(n.PodsWithAntiAffinity, pi)
	}
	n.update(pi, 1)
}

// RemovePod removes the pod with pod's UID.
func (n *NodeInfo) RemovePod(pod *corev1.Pod) error {
	i := indexOf(n.Pods, pod.UID)
	if i < 0 {
		return fmt.Errorf("pod %s/%s not on node %s", pod.Namespace, pod.Name, n.Name())
	}
	pi := n.Pods[i]
	n.Pods = remove(n.Pods, i)
	if j := indexOf(n.PodsWithAffinity, pod.UID); j >= 0 {
		n.PodsWithAffinity = remove(n.PodsWithAffinity, j)
	}
	if j := indexOf(n.PodsWithAntiAffinity, pod.UID); j >= 0 {
		n.PodsWithAntiAffinity = remove(n.PodsWithAntiAffinity, j)
	}
	n.update(pi, -1)
	return nil
}

func (n *NodeInfo) update(pi *PodInfo, sign int64) {
	if sign > 0 {
		n.Requested.Add(pi.Requests)
		n.NonZeroRequested.Add(pi.NonZeroRequests)
		n.UsedPorts = append(n.UsedPorts, PodHostPorts(pi.Pod)...)
	} else {
		n.Requested.Sub(pi.Requests)
		n.NonZeroRequested.Sub(pi.NonZeroRequests)
		n.UsedPorts = nil
		for _, p := range n.Pods {
			n.UsedPorts = append(n.UsedPorts, PodHostPorts(p.Pod)...)
		}
	}
	for _, v := range pi.Pod.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			k := pi.Pod.Namespace + "/" + v.PersistentVolumeClaim.ClaimName
			if n.PVCRefCounts[k] += int(sign); n.PVCRefCounts[k] <= 0 {
				delete(n.PVCRefCounts, k)
			}
		}
	}
}

func indexOf(pods []*PodInfo, uid types.UID) int {
	for i, p := range pods {
		if p.Pod.UID == uid {
			return i
		}
	}
	return -1
}

// remove drops element i without disturbing the original backing array shared with clones.
func remove(pods []*PodInfo, i int) []*PodInfo {
	out := make([]*PodInfo, 0, len(pods)-1)
	out = append(out, pods[:i]...)
	return append(out, pods[i+1:]...)
}

// Clone copies the NodeInfo; pods are shared (they are immutable), slices and maps are not.
func (n *NodeInfo) Clone() *NodeInfo {
	c := *n
	c.Pods = append([]*PodInfo(nil), n.Pods...)
	c.PodsWithAffinity = append([]*PodInfo(nil), n.PodsWithAffinity...)
	c.PodsWithAntiAffinity = append([]*PodInfo(nil), n.PodsWithAntiAffinity...)
	c.UsedPorts = append([]HostPort(nil), n.UsedPorts...)
	c.Requested = n.Requested.Clone()
	c.NonZeroRequested = n.NonZeroRequested.Clone()
	c.PVCRefCounts = make(map[string]int, len(n.PVCRefCounts))
	for k, v := range n.PVCRefCounts {
		c.PVCRefCounts[k] = v
	}
	return &c
}

// NormalizeImage spells an image reference fully: registry, repository and tag.
func NormalizeImage(name string) string {
	if strings.Contains(name, "@") {
		return name
	}
	first, _, hasSlash := strings.Cut(name, "/")
	if !hasSlash {
		name = "docker.io/library/" + name
	} else if !strings.ContainsAny(first, ".:") && first != "localhost" {
		name = "docker.io/" + name
	}
	if i := strings.LastIndex(name, ":"); i < 0 || strings.Contains(name[i:], "/") {
		name += ":latest"
	}
	return name
}
