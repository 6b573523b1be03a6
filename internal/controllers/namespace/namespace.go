// Package namespace empties namespaces being deleted: it deletes every object of every namespaced
// resource the server serves in them, reports progress in status conditions, and once nothing is
// left removes the `kubernetes` finalizer so the namespace itself goes.
package namespace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/klite/klite/internal/controller"
)

// Name is the controller's name for --controllers.
const Name = "namespace"

// Finalizer is the spec finalizer this controller removes.
const Finalizer = corev1.FinalizerKubernetes

// Config is what the controller needs.
type Config struct {
	Client     kubernetes.Interface
	Dynamic    dynamic.Interface
	Discovery  discovery.DiscoveryInterface
	Namespaces coreinformers.NamespaceInformer
	Logger     *slog.Logger
	// RecheckInterval is how soon a namespace with content still going is looked at again.
	RecheckInterval time.Duration
}

// Controller is the namespace controller.
type Controller struct {
	cfg    Config
	lister corelisters.NamespaceLister
	loop   *controller.Loop
	log    *slog.Logger
}

// New builds the controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Dynamic == nil || cfg.Discovery == nil || cfg.Namespaces == nil {
		return nil, errors.New("namespace: Client, Dynamic, Discovery and Namespaces are required")
	}
	if cfg.RecheckInterval == 0 {
		cfg.RecheckInterval = time.Second
	}
	c := &Controller{cfg: cfg, lister: cfg.Namespaces.Lister()}
	loop, err := controller.New(controller.Config{
		Name: Name, Reconciler: c, Workers: 4, Logger: cfg.Logger,
		Synced: []cache.InformerSynced{cfg.Namespaces.Informer().HasSynced},
	})
	if err != nil {
		return nil, err
	}
	c.loop, c.log = loop, loop.Logger()
	_, err = cfg.Namespaces.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: func(obj any) bool {
			ns, ok := obj.(*corev1.Namespace)
			return ok && ns.DeletionTimestamp != nil
		},
		Handler: loop.Handler(),
	})
	return c, err
}

// Start runs the controller until ctx is cancelled.
func (c *Controller) Start(ctx context.Context) error { return c.loop.Start(ctx) }

// Reconcile empties and finalizes the namespace named key if it is being deleted.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	ns, err := c.lister.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.DeletionTimestamp == nil || !slices.Contains(ns.Spec.Finalizers, Finalizer) {
		return nil
	}
	res := c.deleteContent(ctx, ns.Name)
	if err := c.updateStatus(ctx, ns, res); err != nil {
		return err
	}
	if res.discoveryErr != nil || len(res.deleteErrs) > 0 {
		return fmt.Errorf("namespace %s: content deletion incomplete: %w", ns.Name, errors.Join(append(res.deleteErrs, res.discoveryErr)...))
	}
	if len(res.remaining) > 0 {
		return controller.RequeueAfter(c.cfg.RecheckInterval)
	}
	return c.finalize(ctx, ns)
}

// finalize removes the kubernetes finalizer through the finalize subresource.
func (c *Controller) finalize(ctx context.Context, ns *corev1.Namespace) error {
	ns = ns.DeepCopy()
	ns.Spec.Finalizers = slices.DeleteFunc(ns.Spec.Finalizers, func(f corev1.FinalizerName) bool { return f == Finalizer })
	_, err := c.cfg.Client.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err == nil {
		c.log.Info("namespace finalized", "namespace", ns.Name)
	}
	return err
}

// result is one pass over the namespace's content.
type result struct {
	discoveryErr error
	deleteErrs   []error
	remaining    map[string]int // resource -> objects still there
	finalizers   map[string]int // finalizer -> objects holding it
}

// deleteContent deletes every namespaced object in ns and counts what is still there.
func (c *Controller) deleteContent(ctx context.Context, ns string) result {
	res := result{remaining: map[string]int{}, finalizers: map[string]int{}}
	lists, err := c.cfg.Discovery.ServerPreferredNamespacedResources()
	if err != nil {
		res.discoveryErr = err
	}
	for _, gvr := range deletableResources(lists) {
		if err := c.deleteAll(ctx, gvr, ns, &res); err != nil {
			res.deleteErrs = append(res.deleteErrs, fmt.Errorf("%s: %w", gvr.GroupResource(), err))
		}
	}
	return res
}

// deleteAll deletes the objects of one resource in ns, then records those still present.
func (c *Controller) deleteAll(ctx context.Context, gvr resourceVerbs, ns string, res *result) error {
	client := c.cfg.Dynamic.Resource(gvr.GroupVersionResource).Namespace(ns)
	bg := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &bg}
	if gvr.collection {
		if err := client.DeleteCollection(ctx, opts, metav1.ListOptions{}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
			return err
		}
	}
	list, err := client.List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, item := range list.Items {
		res.remaining[gvr.GroupResource().String()]++
		for _, f := range item.GetFinalizers() {
			res.finalizers[f]++
		}
		if item.GetDeletionTimestamp() != nil {
			continue
		}
		if err := client.Delete(ctx, item.GetName(), opts); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

type resourceVerbs struct {
	schema.GroupVersionResource
	collection bool
}

// deletableResources lists the namespaced resources that can be listed and deleted (no
// subresources), in a stable order.
func deletableResources(lists []*metav1.APIResourceList) []resourceVerbs {
	var out []resourceVerbs
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !r.Namespaced || !slices.Contains(r.Verbs, "list") || !slices.Contains(r.Verbs, "delete") {
				continue
			}
			out = append(out, resourceVerbs{gv.WithResource(r.Name), slices.Contains(r.Verbs, "deletecollection")})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
