package garbagecollector

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// handler keeps the graph current and queues what needs a decision: objects with owners or a
// deletion finalizer of ours, the dependents of a deleted owner, the owners of a deleted (or
// released) dependent.
func (c *Collector) handler(gr schema.GroupResource) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.observe(gr, obj) },
		UpdateFunc: func(_, obj any) { c.observe(gr, obj) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			m, err := meta.Accessor(obj)
			if err != nil {
				return
			}
			for _, o := range c.graph.remove(m.GetUID()) {
				c.enqueueUID(o.UID)
			}
			for _, k := range c.graph.dependentKeys(m.GetUID()) {
				c.loop.EnqueueKey(k)
			}
		},
	}
}

func (c *Collector) observe(gr schema.GroupResource, obj any) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	key := gcKey(gr, m.GetNamespace(), m.GetName())
	for _, o := range c.graph.set(m.GetUID(), key, m.GetOwnerReferences()) {
		c.enqueueUID(o)
	}
	deleting := m.GetDeletionTimestamp() != nil
	if len(m.GetOwnerReferences()) > 0 || (deleting && hasGCFinalizer(m.GetFinalizers())) {
		c.loop.EnqueueKey(key)
	}
	if deleting {
		for _, k := range c.graph.dependentKeys(m.GetUID()) {
			c.loop.EnqueueKey(k)
		}
	}
}

func (c *Collector) enqueueUID(uid types.UID) {
	if k, ok := c.graph.key(uid); ok {
		c.loop.EnqueueKey(k)
	}
}

func hasGCFinalizer(fs []string) bool {
	for _, f := range fs {
		if f == metav1.FinalizerOrphanDependents || f == metav1.FinalizerDeleteDependents {
			return true
		}
	}
	return false
}

// Reconcile decides about one object: finish its orphan or foreground deletion, or delete it or
// drop references when its owners are gone.
func (c *Collector) Reconcile(ctx context.Context, key string) error {
	gr, ns, name, err := parseKey(key)
	if err != nil {
		return nil
	}
	mon, ok := c.monitors[gr]
	if !ok {
		return nil
	}
	obj, exists, err := mon.informer.GetStore().GetByKey(cache.NewObjectName(ns, name).String())
	if err != nil || !exists {
		return err
	}
	m := obj.(*metav1.PartialObjectMetadata)
	if m.DeletionTimestamp != nil {
		switch {
		case contains(m.Finalizers, metav1.FinalizerOrphanDependents):
			return c.orphanDependents(ctx, mon, m)
		case contains(m.Finalizers, metav1.FinalizerDeleteDependents):
			return c.deleteDependents(ctx, mon, m)
		}
		return nil
	}
	if len(m.OwnerReferences) == 0 {
		return nil
	}
	return c.checkOwners(ctx, mon, m)
}

// ownerState is what became of one owner.
type ownerState int

const (
	ownerPresent ownerState = iota
	ownerAbsent
	ownerWaiting    // being deleted in the foreground: waits for its dependents
	ownerUnresolved // kind not served: leave the dependent alone
)

// checkOwners deletes m when no owner remains, deletes it in the foreground when its remaining
// owners wait for it, and removes references to gone owners when a live one remains.
func (c *Collector) checkOwners(ctx context.Context, mon monitor, m *metav1.PartialObjectMetadata) error {
	var present, waiting, unresolved int
	var drop []types.UID
	for _, ref := range m.OwnerReferences {
		st, err := c.ownerState(ctx, m.Namespace, ref)
		if err != nil {
			return err
		}
		switch st {
		case ownerPresent:
			present++
		case ownerWaiting:
			waiting++
			drop = append(drop, ref.UID)
		case ownerAbsent:
			drop = append(drop, ref.UID)
		case ownerUnresolved:
			unresolved++
		}
	}
	switch {
	case present > 0 || unresolved > 0:
		if len(drop) == 0 {
			return nil
		}
		return c.dropOwners(ctx, mon, m, drop)
	case waiting > 0:
		return c.delete(ctx, mon, m, metav1.DeletePropagationForeground)
	default:
		return c.delete(ctx, mon, m, metav1.DeletePropagationBackground)
	}
}

// ownerState finds ref's owner in the caches, confirming an absence with a live GET.
func (c *Collector) ownerState(ctx context.Context, ns string, ref metav1.OwnerReference) (ownerState, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return ownerUnresolved, nil
	}
	mapping, err := c.mapper.RESTMapping(gv.WithKind(ref.Kind).GroupKind(), gv.Version)
	if err != nil {
		return ownerUnresolved, nil
	}
	if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
		ns = ""
	}
	var owner metav1.Object
	if mon, ok := c.monitors[mapping.Resource.GroupResource()]; ok {
		if obj, exists, _ := mon.informer.GetStore().GetByKey(cache.NewObjectName(ns, ref.Name).String()); exists {
			owner = obj.(*metav1.PartialObjectMetadata)
		}
	}
	if owner == nil || owner.GetUID() != ref.UID {
		live, err := c.cfg.Metadata.Resource(mapping.Resource).Namespace(ns).Get(ctx, ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return ownerAbsent, nil
		}
		if err != nil {
			return ownerPresent, fmt.Errorf("get owner %s %s: %w", ref.Kind, ref.Name, err)
		}
		owner = live
	}
	switch {
	case owner.GetUID() != ref.UID:
		return ownerAbsent, nil
	case owner.GetDeletionTimestamp() != nil && contains(owner.GetFinalizers(), metav1.FinalizerDeleteDependents):
		return ownerWaiting, nil
	}
	return ownerPresent, nil
}

// delete deletes m (if it is still the same object) with the given propagation.
func (c *Collector) delete(ctx context.Context, mon monitor, m *metav1.PartialObjectMetadata, policy metav1.DeletionPropagation) error {
	uid := m.UID
	err := c.cfg.Metadata.Resource(mon.gvr).Namespace(m.Namespace).Delete(ctx, m.Name, metav1.DeleteOptions{
		PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err == nil {
		c.log.Info("deleted object whose owners are gone", "resource", mon.gvr.Resource, "object", cache.NewObjectName(m.Namespace, m.Name).String(), "propagation", policy)
	}
	return err
}

// dropOwners removes the references to the given owner uids from m.
func (c *Collector) dropOwners(ctx context.Context, mon monitor, m *metav1.PartialObjectMetadata, uids []types.UID) error {
	refs := []metav1.OwnerReference{}
	for _, r := range m.OwnerReferences {
		if !containsUID(uids, r.UID) {
			refs = append(refs, r)
		}
	}
	return c.patchMeta(ctx, mon, m, map[string]any{"ownerReferences": refs})
}

// patchMeta merge-patches m's metadata, guarded by its uid and resourceVersion.
func (c *Collector) patchMeta(ctx context.Context, mon monitor, m *metav1.PartialObjectMetadata, fields map[string]any) error {
	fields["uid"], fields["resourceVersion"] = m.UID, m.ResourceVersion
	patch, err := json.Marshal(map[string]any{"metadata": fields})
	if err != nil {
		return err
	}
	_, err = c.cfg.Metadata.Resource(mon.gvr).Namespace(m.Namespace).Patch(ctx, m.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsUID(list []types.UID, u types.UID) bool {
	for _, x := range list {
		if x == u {
			return true
		}
	}
	return false
}
