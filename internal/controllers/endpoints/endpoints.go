// Package endpoints keeps the Endpoints object of every Service with a selector equal to the
// pods it selects: ready pods' IPs under addresses, the others under notReadyAddresses (all under
// addresses with publishNotReadyAddresses), each with its node and a targetRef, grouped into
// subsets by the ports each pod resolves (named targetPorts are looked up per pod).
package endpoints

import (
	"context"
	"errors"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/klite/klite/internal/controller"
)

// Name is the controller's name for --controllers (upstream's).
const Name = "endpoint"

// Config is what the controller needs.
type Config struct {
	Client    kubernetes.Interface
	Services  coreinformers.ServiceInformer
	Pods      coreinformers.PodInformer
	Endpoints coreinformers.EndpointsInformer
	Logger    *slog.Logger
	Workers   int
}

// Controller is the Endpoints controller.
type Controller struct {
	cfg  Config
	svcs corelisters.ServiceLister
	pods corelisters.PodLister
	eps  corelisters.EndpointsLister
	loop *controller.Loop
}

// New builds the controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Services == nil || cfg.Pods == nil || cfg.Endpoints == nil {
		return nil, errors.New("endpoints: Client, Services, Pods and Endpoints are required")
	}
	if cfg.Workers == 0 {
		cfg.Workers = 5
	}
	c := &Controller{cfg: cfg, svcs: cfg.Services.Lister(), pods: cfg.Pods.Lister(), eps: cfg.Endpoints.Lister()}
	loop, err := controller.New(controller.Config{
		Name: Name, Reconciler: c, Logger: cfg.Logger, Workers: cfg.Workers,
		Synced: []cache.InformerSynced{cfg.Services.Informer().HasSynced, cfg.Pods.Informer().HasSynced, cfg.Endpoints.Informer().HasSynced},
	})
	if err != nil {
		return nil, err
	}
	c.loop = loop
	if _, err := cfg.Services.Informer().AddEventHandler(loop.Handler()); err != nil {
		return nil, err
	}
	if _, err := cfg.Endpoints.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: loop.Enqueue}); err != nil {
		return nil, err
	}
	_, err = cfg.Pods.Informer().AddEventHandler(controller.ServicePodHandler(c.svcs, loop))
	return c, err
}

// Start runs the controller until ctx is cancelled.
func (c *Controller) Start(ctx context.Context) error { return c.loop.Start(ctx) }

// Reconcile writes the Endpoints of the Service named key.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	svc, err := c.svcs.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		err = c.cfg.Client.CoreV1().Endpoints(ns).Delete(ctx, name, metav1.DeleteOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	if err != nil || svc.Spec.Selector == nil {
		return err
	}
	pods, err := c.pods.Pods(ns).List(labels.SelectorFromValidatedSet(svc.Spec.Selector))
	if err != nil {
		return err
	}
	return c.write(ctx, svc, subsets(svc, pods))
}

// write creates or updates the Endpoints when they differ.
func (c *Controller) write(ctx context.Context, svc *corev1.Service, subs []corev1.EndpointSubset) error {
	lbls := map[string]string{}
	for k, v := range svc.Labels {
		lbls[k] = v
	}
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		lbls[corev1.IsHeadlessService] = ""
	}
	cur, err := c.eps.Endpoints(svc.Namespace).Get(svc.Name)
	if apierrors.IsNotFound(err) {
		_, err = c.cfg.Client.CoreV1().Endpoints(svc.Namespace).Create(ctx, &corev1.Endpoints{
			ObjectMeta: metav1.ObjectMeta{Name: svc.Name, Labels: lbls}, Subsets: subs,
		}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) || apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	if equality.Semantic.DeepEqual(cur.Subsets, subs) && equality.Semantic.DeepEqual(cur.Labels, lbls) {
		return nil
	}
	next := cur.DeepCopy()
	next.Subsets, next.Labels = subs, lbls
	_, err = c.cfg.Client.CoreV1().Endpoints(svc.Namespace).Update(ctx, next, metav1.UpdateOptions{})
	return err
}
