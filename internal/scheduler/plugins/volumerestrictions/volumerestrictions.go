// Package volumerestrictions is the VolumeRestrictions filter: a ReadWriteOncePod claim may be
// used by one pod in the whole cluster, and the same inline disk (GCE PD, AWS EBS, RBD, iSCSI)
// cannot be mounted read-write by two pods on one node.
package volumerestrictions

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	listersv1 "k8s.io/client-go/listers/core/v1"

	"github.com/klite/klite/internal/scheduler/framework"
)

// Name is the plugin's registry name.
const Name = "VolumeRestrictions"

// Upstream's rejection messages.
const (
	ErrReasonDiskConflict             = "node(s) had no available disk"
	ErrReasonReadWriteOncePodConflict = "node(s) unavailable due to PersistentVolumeClaim with ReadWriteOncePod access mode already in-use by another pod"
)

// VolumeRestrictions implements the filter.
type VolumeRestrictions struct {
	h    framework.Handle
	pvcs listersv1.PersistentVolumeClaimLister
}

var (
	_ framework.PreFilterPlugin   = &VolumeRestrictions{}
	_ framework.FilterPlugin      = &VolumeRestrictions{}
	_ framework.EnqueueExtensions = &VolumeRestrictions{}
)

// New returns the plugin.
func New(_ context.Context, _ json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	return &VolumeRestrictions{h: h, pvcs: h.Informers().Core().V1().PersistentVolumeClaims().Lister()}, nil
}

// Name returns Name.
func (*VolumeRestrictions) Name() string { return Name }

// EventsToRegister: pods leave, claims change.
func (*VolumeRestrictions) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.Pod, Action: framework.Delete},
		{Resource: framework.PersistentVolumeClaim, Action: framework.Add | framework.Update},
	}
}

// PreFilter rejects the pod if one of its ReadWriteOncePod claims is used by any pod already.
func (p *VolumeRestrictions) PreFilter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	any := false
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim == nil && !isDisk(v) {
			continue
		}
		any = true
		if v.PersistentVolumeClaim == nil {
			continue
		}
		pvc, err := p.pvcs.PersistentVolumeClaims(pod.Namespace).Get(v.PersistentVolumeClaim.ClaimName)
		if err != nil || !hasRWOP(pvc) {
			continue
		}
		key := pod.Namespace + "/" + pvc.Name
		for _, n := range nodes {
			if n.PVCRefCounts[key] > 0 {
				return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonReadWriteOncePodConflict)
			}
		}
	}
	if !any {
		return nil, framework.NewStatus(framework.Skip)
	}
	return nil, nil
}

func hasRWOP(pvc *corev1.PersistentVolumeClaim) bool {
	for _, m := range pvc.Spec.AccessModes {
		if m == corev1.ReadWriteOncePod {
			return true
		}
	}
	return false
}

func isDisk(v corev1.Volume) bool {
	return v.GCEPersistentDisk != nil || v.AWSElasticBlockStore != nil || v.RBD != nil || v.ISCSI != nil
}

// Filter rejects nodes where an inline disk of the pod is already in conflicting use.
func (p *VolumeRestrictions) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, node *framework.NodeInfo) *framework.Status {
	for _, v := range pod.Spec.Volumes {
		if !isDisk(v) {
			continue
		}
		for _, existing := range node.Pods {
			for _, ev := range existing.Pod.Spec.Volumes {
				if conflicts(v, ev) {
					return framework.NewStatus(framework.Unschedulable, ErrReasonDiskConflict)
				}
			}
		}
	}
	return nil
}

// conflicts applies upstream's per-type rules for two inline disks.
func conflicts(a, b corev1.Volume) bool {
	switch {
	case a.GCEPersistentDisk != nil && b.GCEPersistentDisk != nil:
		return a.GCEPersistentDisk.PDName == b.GCEPersistentDisk.PDName && !(a.GCEPersistentDisk.ReadOnly && b.GCEPersistentDisk.ReadOnly)
	case a.AWSElasticBlockStore != nil && b.AWSElasticBlockStore != nil:
		return a.AWSElasticBlockStore.VolumeID == b.AWSElasticBlockStore.VolumeID
	case a.ISCSI != nil && b.ISCSI != nil:
		return a.ISCSI.IQN == b.ISCSI.IQN && !(a.ISCSI.ReadOnly && b.ISCSI.ReadOnly)
	case a.RBD != nil && b.RBD != nil:
		return a.RBD.RBDPool == b.RBD.RBDPool && a.RBD.RBDImage == b.RBD.RBDImage && sharesMonitor(a.RBD.CephMonitors, b.RBD.CephMonitors) &&
			!(a.RBD.ReadOnly && b.RBD.ReadOnly)
	}
	return false
}

func sharesMonitor(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}
