// Package endpointslice keeps the EndpointSlices of every Service with a selector: one endpoint
// per selected pod with an IP (ready, serving and terminating conditions, node, targetRef),
// grouped into slices of at most MaxEndpoints by the ports each pod resolves. Slices carry the
// kubernetes.io/service-name label, the managed-by label, and a controller ownerReference to
// the Service, so they go with it.
package endpointslice

import (
	"context"
	"errors"
	"log/slog"
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	discoveryinformers "k8s.io/client-go/informers/discovery/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/klite/klite/internal/controller"
)

// Name is the controller's name for --controllers.
const Name = "endpointslice"

// ManagedBy is the value of the endpointslice.kubernetes.io/managed-by label on our slices.
const ManagedBy = "endpointslice-controller.k8s.io"

// MaxEndpoints per slice (upstream's default --max-endpoints-per-slice).
const MaxEndpoints = 100

// Config is what the controller needs.
type Config struct {
	Client   kubernetes.Interface
	Services coreinformers.ServiceInformer
	Pods     coreinformers.PodInformer
	Slices   discoveryinformers.EndpointSliceInformer
	Logger   *slog.Logger
	Workers  int
}

// Controller is the EndpointSlice controller.
type Controller struct {
	cfg    Config
	svcs   corelisters.ServiceLister
	pods   corelisters.PodLister
	slices discoverylisters.EndpointSliceLister
	loop   *controller.Loop
}

// New builds the controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Services == nil || cfg.Pods == nil || cfg.Slices == nil {
		return nil, errors.New("endpointslice: Client, Services, Pods and Slices are required")
	}
	if cfg.Workers == 0 {
		cfg.Workers = 5
	}
	c := &Controller{cfg: cfg, svcs: cfg.Services.Lister(), pods: cfg.Pods.Lister(), slices: cfg.Slices.Lister()}
	loop, err := controller.New(controller.Config{
		Name: Name, Reconciler: c, Logger: cfg.Logger, Workers: cfg.Workers,
		Synced: []cache.InformerSynced{cfg.Services.Informer().HasSynced, cfg.Pods.Informer().HasSynced, cfg.Slices.Informer().HasSynced},
	})
	if err != nil {
		return nil, err
	}
	c.loop = loop
	if _, err := cfg.Services.Informer().AddEventHandler(loop.Handler()); err != nil {
		return nil, err
	}
	bySlice := func(o any) {
		if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
			o = t.Obj
		}
		if s, ok := o.(*discoveryv1.EndpointSlice); ok && s.Labels[discoveryv1.LabelManagedBy] == ManagedBy {
			loop.EnqueueKey(s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName])
		}
	}
	if _, err := cfg.Slices.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{UpdateFunc: func(_, o any) { bySlice(o) }, DeleteFunc: bySlice}); err != nil {
		return nil, err
	}
	_, err = cfg.Pods.Informer().AddEventHandler(controller.ServicePodHandler(c.svcs, loop))
	return c, err
}

// Start runs the controller until ctx is cancelled.
func (c *Controller) Start(ctx context.Context) error { return c.loop.Start(ctx) }

// Reconcile brings the slices of the Service named key to the desired set.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	existing, err := c.slices.EndpointSlices(ns).List(labels.SelectorFromSet(labels.Set{
		discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: ManagedBy,
	}))
	if err != nil {
		return err
	}
	sort.Slice(existing, func(i, j int) bool { return existing[i].Name < existing[j].Name })
	svc, err := c.svcs.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil // the garbage collector deletes the slices it owned
	}
	if err != nil || svc.Spec.Selector == nil {
		return err
	}
	pods, err := c.pods.Pods(ns).List(labels.SelectorFromValidatedSet(svc.Spec.Selector))
	if err != nil {
		return err
	}
	return c.apply(ctx, svc, desired(svc, pods), existing)
}

// apply reuses existing slices for the desired ones, creates the rest and deletes surplus.
func (c *Controller) apply(ctx context.Context, svc *corev1.Service, want []*discoveryv1.EndpointSlice, have []*discoveryv1.EndpointSlice) error {
	client := c.cfg.Client.DiscoveryV1().EndpointSlices(svc.Namespace)
	for i, w := range want {
		if i < len(have) {
			h := have[i]
			if equality.Semantic.DeepEqual(h.Endpoints, w.Endpoints) && equality.Semantic.DeepEqual(h.Ports, w.Ports) && equality.Semantic.DeepEqual(h.Labels, w.Labels) {
				continue
			}
			next := h.DeepCopy()
			next.Endpoints, next.Ports, next.Labels, next.OwnerReferences = w.Endpoints, w.Ports, w.Labels, w.OwnerReferences
			if _, err := client.Update(ctx, next, metav1.UpdateOptions{}); err != nil {
				return err
			}
			continue
		}
		_, err := client.Create(ctx, w, metav1.CreateOptions{})
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	for _, h := range have[min(len(want), len(have)):] {
		if err := client.Delete(ctx, h.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}
