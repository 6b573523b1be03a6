package sim

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"sync"

	coordv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// LeaseNamespace holds the node Leases.
const LeaseNamespace = "kube-node-lease"

// KubeletVersion is what simulated nodes report as their kubelet version.
const KubeletVersion = "v1.37.2-klite-sim"

// node is one simulated node's in-memory state.
type node struct {
	index   int
	name    string
	podCIDR netip.Prefix
	hostIP  string
	uid     types.UID

	mu     sync.Mutex
	nextIP uint32
	lease  *coordv1.Lease
}

func newNode(c *Config, i int) *node {
	base := binary.BigEndian.Uint32(c.PodCIDRStart.AsSlice()) + uint32(i)<<8
	host := binary.BigEndian.Uint32([]byte{172, 16, 0, 0}) + uint32(i) + 1
	return &node{
		index:   i,
		name:    c.NamePrefix + "-" + strconv.Itoa(i),
		podCIDR: netip.PrefixFrom(addr(base), 24),
		hostIP:  addr(host).String(),
	}
}

func addr(v uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

// allocIP hands out the node's pod IPs .2 … .254 in turn.
func (n *node) allocIP() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	ip := n.podCIDR.Addr().As4()
	ip[3] = byte(2 + n.nextIP%253)
	n.nextIP++
	return netip.AddrFrom4(ip).String()
}

// object is the Node as the simulator registers it.
func (s *Sim) nodeObject(n *node) *corev1.Node {
	labels := map[string]string{
		corev1.LabelHostname:   n.name,
		corev1.LabelOSStable:   "linux",
		corev1.LabelArchStable: "amd64",
		"klite.io/sim":         "true",
	}
	for k, v := range s.cfg.Labels {
		labels[k] = v
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: labels},
		Spec: corev1.NodeSpec{
			PodCIDR:  n.podCIDR.String(),
			PodCIDRs: []string{n.podCIDR.String()},
			Taints:   append([]corev1.Taint(nil), s.cfg.Taints...),
		},
		Status: s.nodeStatus(n),
	}
}

func (s *Sim) nodeStatus(n *node) corev1.NodeStatus {
	res := corev1.ResourceList{
		corev1.ResourceCPU:              s.cfg.CPU,
		corev1.ResourceMemory:           s.cfg.Memory,
		corev1.ResourceEphemeralStorage: s.cfg.EphemeralStorage,
		corev1.ResourcePods:             *resource.NewQuantity(int64(s.cfg.Pods), resource.DecimalSI),
	}
	return corev1.NodeStatus{
		Capacity:    res,
		Allocatable: res.DeepCopy(),
		Phase:       corev1.NodeRunning,
		Conditions:  s.conditions(),
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: n.hostIP},
			{Type: corev1.NodeHostName, Address: n.name},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
		NodeInfo: corev1.NodeSystemInfo{
			KubeletVersion: KubeletVersion, OperatingSystem: "linux", Architecture: "amd64",
			ContainerRuntimeVersion: "klite-sim://1", OSImage: "klite simulated node", KernelVersion: "sim",
		},
	}
}

func (s *Sim) conditions() []corev1.NodeCondition {
	now := metav1.NewTime(s.cfg.Clock.Now().Truncate(1e9))
	c := func(t corev1.NodeConditionType, st corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: st, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return []corev1.NodeCondition{
		c(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
		c(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
		c(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
		c(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"),
	}
}

// register creates the node, or takes over an existing one, and writes a Ready status.
func (s *Sim) register(ctx context.Context, n *node) error {
	want := s.nodeObject(n)
	nodes := s.cfg.Client.CoreV1().Nodes()
	cur, err := nodes.Create(ctx, want, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		if cur, err = nodes.Get(ctx, n.name, metav1.GetOptions{}); err == nil {
			cur.Labels, cur.Spec.Taints = want.Labels, want.Spec.Taints
			cur.Spec.Unschedulable = false
			cur, err = nodes.Update(ctx, cur, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("register node %s: %w", n.name, err)
	}
	n.uid = cur.UID
	if !readyStatus(cur) { // the server kept no status on create, or the node is an old one
		cur.Status = want.Status
		if _, err := nodes.UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("node %s status: %w", n.name, err)
		}
	}
	return s.renewLease(ctx, n)
}

// readyStatus reports a node freshly created with our Ready status.
func readyStatus(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue && c.Reason == "KubeletReady" {
			return len(n.Status.Allocatable) > 0
		}
	}
	return false
}

// heartbeat refreshes the node's conditions, keeping transition times of unchanged conditions.
func (s *Sim) heartbeat(ctx context.Context, n *node) error {
	nodes := s.cfg.Client.CoreV1().Nodes()
	cur, err := nodes.Get(ctx, n.name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("node %s: %w", n.name, err)
	}
	fresh := s.conditions()
	for i := range fresh {
		for _, old := range cur.Status.Conditions {
			if old.Type == fresh[i].Type && old.Status == fresh[i].Status {
				fresh[i].LastTransitionTime = old.LastTransitionTime
			}
		}
	}
	cur.Status.Conditions = fresh
	if _, err := nodes.UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("node %s status: %w", n.name, err)
	}
	return nil
}

// renewLease creates or renews the node's Lease, re-reading it after a conflict.
func (s *Sim) renewLease(ctx context.Context, n *node) error {
	leases := s.cfg.Client.CoordinationV1().Leases(LeaseNamespace)
	now := metav1.NewMicroTime(s.cfg.Clock.Now())
	n.mu.Lock()
	l := n.lease
	n.mu.Unlock()
	var err error
	if l == nil {
		l, err = leases.Get(ctx, n.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			l, err = leases.Create(ctx, s.leaseObject(n, now), metav1.CreateOptions{})
		} else if err == nil {
			l, err = s.updateLease(ctx, l, now)
		}
	} else if l, err = s.updateLease(ctx, l, now); apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		n.mu.Lock()
		n.lease = nil
		n.mu.Unlock()
		return s.renewLease(ctx, n)
	}
	if err != nil {
		return fmt.Errorf("lease %s: %w", n.name, err)
	}
	n.mu.Lock()
	n.lease = l
	n.mu.Unlock()
	return nil
}

func (s *Sim) updateLease(ctx context.Context, l *coordv1.Lease, now metav1.MicroTime) (*coordv1.Lease, error) {
	l = l.DeepCopy()
	l.Spec.RenewTime = &now
	l.Spec.HolderIdentity = ptr.To(l.Name)
	l.Spec.LeaseDurationSeconds = ptr.To(int32(s.cfg.LeaseDuration.Seconds()))
	return s.cfg.Client.CoordinationV1().Leases(LeaseNamespace).Update(ctx, l, metav1.UpdateOptions{})
}

func (s *Sim) leaseObject(n *node, now metav1.MicroTime) *coordv1.Lease {
	return &coordv1.Lease{
		ObjectMeta: metav1.ObjectMeta{
			Name: n.name, Namespace: LeaseNamespace,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: n.name, UID: n.uid}},
		},
		Spec: coordv1.LeaseSpec{
			HolderIdentity:       ptr.To(n.name),
			LeaseDurationSeconds: ptr.To(int32(s.cfg.LeaseDuration.Seconds())),
			RenewTime:            &now,
		},
	}
}
