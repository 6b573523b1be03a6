// Package garbagecollector deletes objects whose owners are gone, following ownerReferences as
// `kubectl delete --cascade` asks:
//
//   - background: the owner is deleted at once; its dependents, now dangling, are deleted here.
//   - foreground: the owner waits with the foregroundDeletion finalizer while the dependents whose
//     ownerReference sets blockOwnerDeletion are deleted (foreground again, so whole trees go
//     bottom-up); then the finalizer is removed and the owner goes.
//   - orphan: the owner waits with the orphan finalizer while its ownerReference is removed from
//     every dependent; then the finalizer is removed.
//
// It watches every resource the server lists (metadata only) and keeps a graph from owner uids
// to dependents. Owners are looked up in the caches first and confirmed absent with a live GET,
// so a slow watch never deletes a dependent whose owner exists.
package garbagecollector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"

	"github.com/klite/klite/internal/controller"
)

// Name is the controller's name for --controllers.
const Name = "garbagecollector"

// Config is what the collector needs.
type Config struct {
	Metadata  metadata.Interface // the collector reads, watches, patches and deletes metadata only
	Discovery discovery.DiscoveryInterface
	Logger    *slog.Logger
	Workers   int // default 10
}

// Collector is the garbage collector.
type Collector struct {
	cfg      Config
	graph    *graph
	mapper   meta.RESTMapper
	monitors map[schema.GroupResource]monitor
	loop     *controller.Loop
	log      *slog.Logger
}

type monitor struct {
	gvr      schema.GroupVersionResource
	informer cache.SharedIndexInformer
}

// New validates cfg. Resources are discovered in Start.
func New(cfg Config) (*Collector, error) {
	if cfg.Metadata == nil || cfg.Discovery == nil {
		return nil, errors.New("garbagecollector: Metadata and Discovery are required")
	}
	if cfg.Workers == 0 {
		cfg.Workers = 10
	}
	return &Collector{cfg: cfg, graph: newGraph()}, nil
}

// ignored resources are never collected (upstream ignores events).
var ignored = map[schema.GroupResource]bool{{Resource: "events"}: true, {Group: "events.k8s.io", Resource: "events"}: true}

// Start discovers the served resources, watches them, and collects until ctx is cancelled.
func (c *Collector) Start(ctx context.Context) error {
	var err error
	for {
		if err = c.discover(); err == nil {
			break
		}
		slog.Default().Warn("garbage collector: discovery failed, retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
	factory := metadatainformer.NewSharedInformerFactory(c.cfg.Metadata, 0)
	var synced []cache.InformerSynced
	for gr, m := range c.monitors {
		inf := factory.ForResource(m.gvr).Informer()
		if err := inf.SetTransform(toMetadata); err != nil {
			return err
		}
		if _, err := inf.AddEventHandler(c.handler(gr)); err != nil {
			return err
		}
		c.monitors[gr] = monitor{gvr: m.gvr, informer: inf}
		synced = append(synced, inf.HasSynced)
	}
	c.loop, err = controller.New(controller.Config{Name: Name, Reconciler: c, Workers: c.cfg.Workers, Logger: c.cfg.Logger, Synced: synced})
	if err != nil {
		return err
	}
	c.log = c.loop.Logger()
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	return c.loop.Start(ctx)
}

// discover builds the REST mapper and the set of resources to watch.
func (c *Collector) discover() error {
	groups, err := restmapper.GetAPIGroupResources(c.cfg.Discovery)
	if err != nil {
		return err
	}
	c.mapper = restmapper.NewDiscoveryRESTMapper(groups)
	lists, err := c.cfg.Discovery.ServerPreferredResources()
	if err != nil && len(lists) == 0 {
		return err
	}
	c.monitors = map[schema.GroupResource]monitor{}
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			gvr := gv.WithResource(r.Name)
			if strings.Contains(r.Name, "/") || ignored[gvr.GroupResource()] || !hasVerbs(r.Verbs, "list", "watch", "delete", "patch") {
				continue
			}
			c.monitors[gvr.GroupResource()] = monitor{gvr: gvr}
		}
	}
	return nil
}

func hasVerbs(verbs []string, want ...string) bool {
	for _, w := range want {
		if !slices.Contains(verbs, w) {
			return false
		}
	}
	return true
}

// toMetadata keeps only what the collector reads of an object's metadata in the caches.
func toMetadata(obj any) (any, error) {
	p, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	m := &metav1.PartialObjectMetadata{TypeMeta: p.TypeMeta}
	m.Name, m.Namespace, m.UID, m.ResourceVersion = p.Name, p.Namespace, p.UID, p.ResourceVersion
	m.OwnerReferences, m.Finalizers, m.DeletionTimestamp = p.OwnerReferences, p.Finalizers, p.DeletionTimestamp
	return m, nil
}

// gcKey is "<resource>.<group>/<namespace>/<name>".
func gcKey(gr schema.GroupResource, ns, name string) string {
	return gr.String() + "/" + ns + "/" + name
}

func parseKey(key string) (schema.GroupResource, string, string, error) {
	parts := strings.SplitN(key, "/", 3)
	if len(parts) != 3 {
		return schema.GroupResource{}, "", "", fmt.Errorf("bad key %q", key)
	}
	return schema.ParseGroupResource(parts[0]), parts[1], parts[2], nil
}
