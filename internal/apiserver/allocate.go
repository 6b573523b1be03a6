package apiserver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/klite/klite/internal/storage"
)

// allocators hand out Service ClusterIPs and NodePorts. Each allocation is its own etcd key
// (/registry/ranges/serviceips/<ip>, /registry/ranges/servicenodeports/<port>) created with a
// create-if-absent Txn, so that API servers sharing one etcd never hand out one value twice.
type allocators struct {
	kv       storage.Interface
	cidr     netip.Prefix
	portBase int
	portSize int
}

const (
	ipKeys   = "/registry/ranges/serviceips/"
	portKeys = "/registry/ranges/servicenodeports/"
)

func newAllocators(kv storage.Interface, cidr string, ports [2]int) (*allocators, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() || p.Bits() > 30 {
		return nil, fmt.Errorf("service CIDR %q: want an IPv4 prefix of /30 or larger", cidr)
	}
	if ports[0] <= 0 || ports[1] < ports[0] || ports[1] > 65535 {
		return nil, fmt.Errorf("node port range %d-%d is invalid", ports[0], ports[1])
	}
	return &allocators{kv: kv, cidr: p.Masked(), portBase: ports[0], portSize: ports[1] - ports[0] + 1}, nil
}

// size is the number of assignable addresses: the network address is skipped, as is the
// broadcast address.
func (a *allocators) size() int { return 1<<(32-a.cidr.Bits()) - 2 }

func (a *allocators) ipAt(i int) netip.Addr {
	b := a.cidr.Addr().As4()
	n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n += uint32(i + 1)
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// allocateService claims the ClusterIP and NodePorts the service needs that old (nil on create)
// did not hold, filling in those left empty. The undo func releases what was claimed.
func (a *allocators) allocateService(ctx context.Context, svc, old *corev1.Service) (func(), error) {
	var claimed []string
	undo := func() {
		for _, k := range claimed {
			_, _, _ = a.kv.Delete(context.WithoutCancel(ctx), k, 0)
		}
	}
	owner := []byte(svc.Namespace + "/" + svc.Name)
	if err := a.allocateIP(ctx, svc, old, owner, &claimed); err != nil {
		undo()
		return func() {}, err
	}
	if err := a.allocatePorts(ctx, svc, old, owner, &claimed); err != nil {
		undo()
		return func() {}, err
	}
	if old != nil {
		a.releaseService(ctx, old, svc)
	}
	return undo, nil
}

func (a *allocators) allocateIP(ctx context.Context, svc, old *corev1.Service, owner []byte, claimed *[]string) error {
	if svc.Spec.Type == corev1.ServiceTypeExternalName || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		if svc.Spec.ClusterIP == corev1.ClusterIPNone {
			svc.Spec.ClusterIPs = []string{corev1.ClusterIPNone}
		}
		return nil
	}
	if old != nil && old.Spec.ClusterIP != "" && old.Spec.ClusterIP != corev1.ClusterIPNone && (svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == old.Spec.ClusterIP) {
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = old.Spec.ClusterIP, old.Spec.ClusterIPs
		return nil
	}
	if svc.Spec.ClusterIP != "" {
		ip, err := netip.ParseAddr(svc.Spec.ClusterIP)
		if err != nil || !a.cidr.Contains(ip) {
			return apierrors.NewInvalid(core.WithKind("Service").GroupKind(), svc.Name, field.ErrorList{field.Invalid(field.NewPath("spec", "clusterIPs").Index(0), svc.Spec.ClusterIP,
				fmt.Sprintf("failed to allocate IP %s: the provided IP (%s) is not in the valid range. The range of valid IPs is %s", svc.Spec.ClusterIP, svc.Spec.ClusterIP, a.cidr))})
		}
		if err := a.claim(ctx, ipKeys+ip.String(), owner); err != nil {
			return apierrors.NewInvalid(core.WithKind("Service").GroupKind(), svc.Name, field.ErrorList{field.Invalid(field.NewPath("spec", "clusterIPs").Index(0), svc.Spec.ClusterIP,
				fmt.Sprintf("failed to allocate IP %s: provided IP is already allocated", svc.Spec.ClusterIP))})
		}
		*claimed = append(*claimed, ipKeys+ip.String())
		svc.Spec.ClusterIPs = []string{ip.String()}
		return nil
	}
	n := a.size()
	start := rand.IntN(n)
	for i := 0; i < n; i++ {
		ip := a.ipAt((start + i) % n)
		err := a.claim(ctx, ipKeys+ip.String(), owner)
		if errors.Is(err, storage.ErrExists) {
			continue
		}
		if err != nil {
			return apierrors.NewServiceUnavailable(fmt.Sprintf("allocate cluster IP: %v", err))
		}
		*claimed = append(*claimed, ipKeys+ip.String())
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = ip.String(), []string{ip.String()}
		return nil
	}
	return apierrors.NewInternalError(fmt.Errorf("failed to allocate a serviceIP: range is full"))
}

func (a *allocators) allocatePorts(ctx context.Context, svc, old *corev1.Service, owner []byte, claimed *[]string) error {
	if svc.Spec.Type != corev1.ServiceTypeNodePort && svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		for i := range svc.Spec.Ports {
			svc.Spec.Ports[i].NodePort = 0
		}
		return nil
	}
	held := map[int32]bool{}
	if old != nil {
		for _, p := range old.Spec.Ports {
			if p.NodePort != 0 {
				held[p.NodePort] = true
			}
		}
	}
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if p.NodePort != 0 && held[p.NodePort] {
			continue
		}
		if p.NodePort == 0 && old != nil {
			if prev := oldNodePort(old, p); prev != 0 {
				p.NodePort = prev
				continue
			}
		}
		if err := a.claimPort(ctx, svc, p, owner, claimed); err != nil {
			return err
		}
	}
	return nil
}

func oldNodePort(old *corev1.Service, p *corev1.ServicePort) int32 {
	for _, o := range old.Spec.Ports {
		if o.Port == p.Port && o.Protocol == p.Protocol && o.NodePort != 0 {
			return o.NodePort
		}
	}
	return 0
}

func (a *allocators) claimPort(ctx context.Context, svc *corev1.Service, p *corev1.ServicePort, owner []byte, claimed *[]string) error {
	path := field.NewPath("spec", "ports").Key(strconv.Itoa(int(p.Port))).Child("nodePort")
	if p.NodePort != 0 {
		if int(p.NodePort) < a.portBase || int(p.NodePort) >= a.portBase+a.portSize {
			return apierrors.NewInvalid(core.WithKind("Service").GroupKind(), svc.Name, field.ErrorList{field.Invalid(path, p.NodePort,
				fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %d-%d", a.portBase, a.portBase+a.portSize-1))})
		}
		key := portKeys + strconv.Itoa(int(p.NodePort))
		if err := a.claim(ctx, key, owner); err != nil {
			return apierrors.NewInvalid(core.WithKind("Service").GroupKind(), svc.Name, field.ErrorList{field.Invalid(path, p.NodePort, "provided port is already allocated")})
		}
		*claimed = append(*claimed, key)
		return nil
	}
	start := rand.IntN(a.portSize)
	for i := 0; i < a.portSize; i++ {
		port := a.portBase + (start+i)%a.portSize
		key := portKeys + strconv.Itoa(port)
		err := a.claim(ctx, key, owner)
		if errors.Is(err, storage.ErrExists) {
			continue
		}
		if err != nil {
			return apierrors.NewServiceUnavailable(fmt.Sprintf("allocate node port: %v", err))
		}
		*claimed = append(*claimed, key)
		p.NodePort = int32(port)
		return nil
	}
	return apierrors.NewInternalError(fmt.Errorf("failed to allocate a nodePort: range is full"))
}

func (a *allocators) claim(ctx context.Context, key string, owner []byte) error {
	_, err := a.kv.Create(ctx, key, owner)
	return err
}

// releaseService frees what svc holds and keep (nil after a delete) does not.
func (a *allocators) releaseService(ctx context.Context, svc, keep *corev1.Service) {
	ctx = context.WithoutCancel(ctx)
	if ip := svc.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone && (keep == nil || keep.Spec.ClusterIP != ip) {
		_, _, _ = a.kv.Delete(ctx, ipKeys+ip, 0)
	}
	kept := map[int32]bool{}
	if keep != nil {
		for _, p := range keep.Spec.Ports {
			kept[p.NodePort] = true
		}
	}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 && !kept[p.NodePort] {
			_, _, _ = a.kv.Delete(ctx, portKeys+strconv.Itoa(int(p.NodePort)), 0)
		}
	}
}
