// Package volumebinding is the VolumeBinding plugin: a pod's PersistentVolumeClaims must be
// usable on the node. Bound claims pin the pod to their volume's node affinity; unbound claims
// with Immediate binding keep the pod pending until the PV controller binds them; claims of a
// WaitForFirstConsumer class are matched here with an available PV reachable from the node (or
// left to dynamic provisioning), and bound once the node is chosen.
package volumebinding

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	listersv1 "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"

	"github.com/klite/klite/internal/scheduler/framework"
	"github.com/klite/klite/internal/scheduler/plugins/helper"
)

// Name is the plugin's registry name.
const Name = "VolumeBinding"

// Upstream's rejection messages.
const (
	ErrReasonBindConflict     = "node(s) didn't find available persistent volumes to bind"
	ErrReasonNodeConflict     = "node(s) didn't match PersistentVolume's node affinity"
	ErrReasonPVNotExist       = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
	ErrReasonUnboundImmediate = "pod has unbound immediate PersistentVolumeClaims"
)

// SelectedNodeAnnotation tells a provisioner which node a delayed claim's pod landed on.
const SelectedNodeAnnotation = "volume.kubernetes.io/selected-node"

// noProvisioner marks classes of pre-created local volumes.
const noProvisioner = "kubernetes.io/no-provisioner"

const stateKey framework.StateKey = "PreFilter" + Name

// VolumeBinding implements the plugin.
type VolumeBinding struct {
	h       framework.Handle
	pvcs    listersv1.PersistentVolumeClaimLister
	pvs     listersv1.PersistentVolumeLister
	classes storagelisters.StorageClassLister
}

var (
	_ framework.PreFilterPlugin   = &VolumeBinding{}
	_ framework.FilterPlugin      = &VolumeBinding{}
	_ framework.ReservePlugin     = &VolumeBinding{}
	_ framework.PreBindPlugin     = &VolumeBinding{}
	_ framework.EnqueueExtensions = &VolumeBinding{}
)

// New returns the plugin; it registers the claim, volume and class informers.
func New(_ context.Context, _ json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	f := h.Informers()
	return &VolumeBinding{
		h: h, pvcs: f.Core().V1().PersistentVolumeClaims().Lister(),
		pvs: f.Core().V1().PersistentVolumes().Lister(), classes: f.Storage().V1().StorageClasses().Lister(),
	}, nil
}

// Name returns Name.
func (*VolumeBinding) Name() string { return Name }

// EventsToRegister: claims, volumes and classes appear or change; nodes appear.
func (*VolumeBinding) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.PersistentVolumeClaim, Action: framework.Add | framework.Update},
		{Resource: framework.PersistentVolume, Action: framework.Add | framework.Update},
		{Resource: framework.StorageClass, Action: framework.Add | framework.Update},
		{Resource: framework.Node, Action: framework.Add | framework.Update},
	}
}

// claims sorts a pod's claims for one cycle.
type state struct {
	bound   []*corev1.PersistentVolume      // volumes of bound claims
	delayed []*corev1.PersistentVolumeClaim // unbound WaitForFirstConsumer claims

	mu     sync.Mutex
	chosen map[string]map[string]*corev1.PersistentVolume // node → claim name → static PV
}

func (s *state) Clone() framework.StateData { return s }

// PreFilter classifies the pod's claims, rejecting missing, deleting and unbound immediate ones.
func (p *VolumeBinding) PreFilter(_ context.Context, cs *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	st := &state{chosen: map[string]map[string]*corev1.PersistentVolume{}}
	has := false
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		has = true
		pvc, err := p.pvcs.PersistentVolumeClaims(pod.Namespace).Get(v.PersistentVolumeClaim.ClaimName)
		if err != nil {
			return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, err.Error())
		}
		if pvc.DeletionTimestamp != nil {
			return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("persistentvolumeclaim %q is being deleted", pvc.Name))
		}
		if status := p.classify(st, pvc); !status.IsSuccess() {
			return nil, status
		}
	}
	if !has {
		return nil, framework.NewStatus(framework.Skip)
	}
	cs.Write(stateKey, st)
	return nil, nil
}

func (p *VolumeBinding) classify(st *state, pvc *corev1.PersistentVolumeClaim) *framework.Status {
	if pvc.Spec.VolumeName != "" {
		pv, err := p.pvs.Get(pvc.Spec.VolumeName)
		if err != nil {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonPVNotExist)
		}
		st.bound = append(st.bound, pv)
		return nil
	}
	if class := p.class(pvc); class != nil && class.VolumeBindingMode != nil && *class.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer {
		st.delayed = append(st.delayed, pvc)
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonUnboundImmediate)
}

func (p *VolumeBinding) class(pvc *corev1.PersistentVolumeClaim) *storagev1.StorageClass {
	name := ""
	if pvc.Spec.StorageClassName != nil {
		name = *pvc.Spec.StorageClassName
	}
	if name == "" {
		return nil
	}
	c, err := p.classes.Get(name)
	if err != nil {
		return nil
	}
	return c
}

// Filter checks bound volumes' node affinity and finds volumes for delayed claims.
func (p *VolumeBinding) Filter(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, node *framework.NodeInfo) *framework.Status {
	st, ok := cs.Read(stateKey).(*state)
	if !ok {
		return nil
	}
	n := node.Node()
	for _, pv := range st.bound {
		if !reachable(pv, n) {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeConflict)
		}
	}
	chosen := map[string]*corev1.PersistentVolume{}
	for _, pvc := range st.delayed {
		if pv := p.findVolume(pvc, n, chosen); pv != nil {
			chosen[pvc.Name] = pv
			continue
		}
		if !p.provisionable(pvc, n) {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonBindConflict)
		}
	}
	st.mu.Lock()
	st.chosen[n.Name] = chosen
	st.mu.Unlock()
	return nil
}

// reachable reports whether pv's node affinity admits node.
func reachable(pv *corev1.PersistentVolume, node *corev1.Node) bool {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return true
	}
	sel, err := helper.ParseNodeSelector(pv.Spec.NodeAffinity.Required)
	return err == nil && sel.Matches(node)
}

// findVolume picks the smallest available PV of the claim's class that fits it and the node.
func (p *VolumeBinding) findVolume(pvc *corev1.PersistentVolumeClaim, node *corev1.Node, taken map[string]*corev1.PersistentVolume) *corev1.PersistentVolume {
	all, err := p.pvs.List(everything)
	if err != nil {
		return nil
	}
	want := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	var best *corev1.PersistentVolume
	for _, pv := range all {
		if !available(pv, pvc, taken) || !reachable(pv, node) {
			continue
		}
		size := pv.Spec.Capacity[corev1.ResourceStorage]
		if size.Cmp(want) < 0 {
			continue
		}
		if best == nil || size.Cmp(best.Spec.Capacity[corev1.ResourceStorage]) < 0 || (size.Cmp(best.Spec.Capacity[corev1.ResourceStorage]) == 0 && pv.Name < best.Name) {
			best = pv
		}
	}
	return best
}

func available(pv *corev1.PersistentVolume, pvc *corev1.PersistentVolumeClaim, taken map[string]*corev1.PersistentVolume) bool {
	if pv.Spec.ClaimRef != nil && (pv.Spec.ClaimRef.Namespace != pvc.Namespace || pv.Spec.ClaimRef.Name != pvc.Name) {
		return false
	}
	switch pv.Status.Phase {
	case corev1.VolumeReleased, corev1.VolumeFailed:
		return false
	}
	if pv.Spec.StorageClassName != ptrString(pvc.Spec.StorageClassName) || pv.DeletionTimestamp != nil {
		return false
	}
	for _, other := range taken {
		if other.Name == pv.Name {
			return false
		}
	}
	for _, m := range pvc.Spec.AccessModes {
		if !hasMode(pv.Spec.AccessModes, m) {
			return false
		}
	}
	return true
}

func hasMode(modes []corev1.PersistentVolumeAccessMode, m corev1.PersistentVolumeAccessMode) bool {
	for _, x := range modes {
		if x == m {
			return true
		}
	}
	return false
}

func ptrString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// provisionable: the class has a provisioner and its allowed topologies admit the node.
func (p *VolumeBinding) provisionable(pvc *corev1.PersistentVolumeClaim, node *corev1.Node) bool {
	class := p.class(pvc)
	if class == nil || class.Provisioner == "" || class.Provisioner == noProvisioner {
		return false
	}
	if len(class.AllowedTopologies) == 0 {
		return true
	}
	for _, t := range class.AllowedTopologies {
		ok := true
		for _, e := range t.MatchLabelExpressions {
			if v, has := node.Labels[e.Key]; !has || !hasValue(e.Values, v) {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func hasValue(values []string, v string) bool {
	for _, x := range values {
		if x == v {
			return true
		}
	}
	return false
}
