// Package nodeipam gives every Node a pod subnet: the lowest free /N (--node-cidr-mask-size,
// default /24) of the cluster CIDR (--cluster-cidr, default 10.42.0.0/16), written to
// spec.podCIDR and spec.podCIDRs. Subnets of deleted nodes are reused.
package nodeipam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/klite/klite/internal/controller"
)

// Name is the controller's name for --controllers (upstream's).
const Name = "nodeipam"

// Config is what the controller needs.
type Config struct {
	Client      kubernetes.Interface
	Nodes       coreinformers.NodeInformer
	ClusterCIDR string // e.g. 10.42.0.0/16
	MaskSize    int    // e.g. 24
	Recorder    record.EventRecorder
	Logger      *slog.Logger
}

// Controller is the pod CIDR allocator.
type Controller struct {
	cfg    Config
	prefix netip.Prefix
	nodes  corelisters.NodeLister
	loop   *controller.Loop

	mu       sync.Mutex
	assigned map[string]netip.Prefix // our writes, until the informer shows them
}

// New validates cfg, builds the controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Nodes == nil {
		return nil, errors.New("nodeipam: Client and Nodes are required")
	}
	prefix, err := netip.ParsePrefix(cfg.ClusterCIDR)
	if err != nil {
		return nil, fmt.Errorf("nodeipam: cluster CIDR: %w", err)
	}
	if cfg.MaskSize < prefix.Bits() || cfg.MaskSize > prefix.Addr().BitLen() {
		return nil, fmt.Errorf("nodeipam: mask size /%d does not fit in %s", cfg.MaskSize, prefix)
	}
	if cfg.Recorder == nil {
		cfg.Recorder = &record.FakeRecorder{}
	}
	c := &Controller{cfg: cfg, prefix: prefix.Masked(), nodes: cfg.Nodes.Lister(), assigned: map[string]netip.Prefix{}}
	// One worker: allocation decisions must not race each other.
	loop, err := controller.New(controller.Config{Name: Name, Reconciler: c, Workers: 1, Logger: cfg.Logger,
		Synced: []cache.InformerSynced{cfg.Nodes.Informer().HasSynced}})
	if err != nil {
		return nil, err
	}
	c.loop = loop
	_, err = cfg.Nodes.Informer().AddEventHandler(loop.Handler())
	return c, err
}

// Start runs the controller until ctx is cancelled.
func (c *Controller) Start(ctx context.Context) error { return c.loop.Start(ctx) }

// Reconcile gives the node named key a subnet if it has none.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	node, err := c.nodes.Get(key)
	if apierrors.IsNotFound(err) {
		c.mu.Lock()
		delete(c.assigned, key)
		c.mu.Unlock()
		return nil
	}
	if err != nil || node.Spec.PodCIDR != "" {
		return err
	}
	subnet, ok := c.free()
	if !ok {
		c.cfg.Recorder.Eventf(node, corev1.EventTypeWarning, "CIDRNotAvailable", "Node %s status is now: CIDRNotAvailable", node.Name)
		return fmt.Errorf("no free /%d left in %s", c.cfg.MaskSize, c.prefix)
	}
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"podCIDR": subnet.String(), "podCIDRs": []string{subnet.String()}}})
	_, err = c.cfg.Client.CoreV1().Nodes().Patch(ctx, node.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.assigned[node.Name] = subnet
	c.mu.Unlock()
	c.cfg.Recorder.Eventf(node, corev1.EventTypeNormal, "CIDRAssignmentSucceeded", "Assigned pod CIDR %s", subnet)
	return nil
}

// free returns the lowest subnet used by no node (as the cache shows, plus our own writes).
func (c *Controller) free() (netip.Prefix, bool) {
	used := map[netip.Prefix]bool{}
	nodes, _ := c.nodes.List(labels.Everything())
	present := map[string]bool{}
	for _, n := range nodes {
		present[n.Name] = true
		for _, s := range append([]string{n.Spec.PodCIDR}, n.Spec.PodCIDRs...) {
			if p, err := netip.ParsePrefix(s); err == nil {
				used[p.Masked()] = true
			}
		}
	}
	c.mu.Lock()
	for name, p := range c.assigned {
		if present[name] {
			used[p] = true
		} else {
			delete(c.assigned, name)
		}
	}
	c.mu.Unlock()
	return firstFree(c.prefix, c.cfg.MaskSize, used)
}

// firstFree walks the subnets of prefix of the given size in order.
func firstFree(prefix netip.Prefix, size int, used map[netip.Prefix]bool) (netip.Prefix, bool) {
	count := 1 << min(size-prefix.Bits(), 24)
	step := netip.PrefixFrom(prefix.Addr(), size)
	for range count {
		if !used[step] {
			return step, true
		}
		next, ok := nextSubnet(step)
		if !ok || !prefix.Contains(next.Addr()) {
			break
		}
		step = next
	}
	return netip.Prefix{}, false
}

// nextSubnet is the subnet of the same size right after p.
func nextSubnet(p netip.Prefix) (netip.Prefix, bool) {
	b := p.Addr().AsSlice()
	bit := p.Bits() - 1 // add 1 at the last prefix bit
	for i := bit; i >= 0; i-- {
		byteIdx, mask := i/8, byte(1)<<(7-uint(i%8))
		if b[byteIdx]&mask == 0 {
			b[byteIdx] |= mask
			a, _ := netip.AddrFromSlice(b)
			return netip.PrefixFrom(a, p.Bits()), true
		}
		b[byteIdx] &^= mask
	}
	return netip.Prefix{}, false
}
