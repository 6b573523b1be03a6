package garbagecollector

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// dependents returns the cached dependents of m with the monitor each lives in.
func (c *Collector) dependents(m *metav1.PartialObjectMetadata) ([]*metav1.PartialObjectMetadata, []monitor) {
	var objs []*metav1.PartialObjectMetadata
	var mons []monitor
	for _, key := range c.graph.dependentKeys(m.UID) {
		gr, ns, name, err := parseKey(key)
		if err != nil {
			continue
		}
		mon, ok := c.monitors[gr]
		if !ok {
			continue
		}
		obj, exists, _ := mon.informer.GetStore().GetByKey(cache.NewObjectName(ns, name).String())
		if !exists {
			continue
		}
		objs = append(objs, obj.(*metav1.PartialObjectMetadata))
		mons = append(mons, mon)
	}
	return objs, mons
}

// orphanDependents removes the reference to m from each dependent, then m's orphan finalizer.
func (c *Collector) orphanDependents(ctx context.Context, mon monitor, m *metav1.PartialObjectMetadata) error {
	deps, mons := c.dependents(m)
	for i, d := range deps {
		if err := c.dropOwners(ctx, mons[i], d, []types.UID{m.UID}); err != nil {
			return fmt.Errorf("orphan %s: %w", d.Name, err)
		}
	}
	return c.removeFinalizer(ctx, mon, m, metav1.FinalizerOrphanDependents)
}

// deleteDependents deletes the dependents that block m's deletion and removes m's
// foregroundDeletion finalizer once none is left. Dependents that do not block are collected
// in the background once m is gone.
func (c *Collector) deleteDependents(ctx context.Context, mon monitor, m *metav1.PartialObjectMetadata) error {
	deps, mons := c.dependents(m)
	blocking := 0
	for i, d := range deps {
		if !blocks(d, m) {
			continue
		}
		blocking++
		if d.DeletionTimestamp != nil {
			continue
		}
		policy := metav1.DeletePropagationBackground
		if len(c.graph.dependentKeys(d.UID)) > 0 {
			policy = metav1.DeletePropagationForeground
		}
		if err := c.delete(ctx, mons[i], d, policy); err != nil {
			return err
		}
	}
	if blocking > 0 {
		return nil // each dependent's deletion queues m again
	}
	return c.removeFinalizer(ctx, mon, m, metav1.FinalizerDeleteDependents)
}

// blocks: d's reference to m sets blockOwnerDeletion.
func blocks(d, m *metav1.PartialObjectMetadata) bool {
	for _, r := range d.OwnerReferences {
		if r.UID == m.UID && r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion {
			return true
		}
	}
	return false
}

func (c *Collector) removeFinalizer(ctx context.Context, mon monitor, m *metav1.PartialObjectMetadata, f string) error {
	fs := []string{}
	for _, x := range m.Finalizers {
		if x != f {
			fs = append(fs, x)
		}
	}
	return c.patchMeta(ctx, mon, m, map[string]any{"finalizers": fs})
}
