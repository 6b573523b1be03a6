// Package serviceaccount makes sure every active namespace has the `default` ServiceAccount,
// recreating it if it is deleted.
package serviceaccount

import (
	"context"
	"errors"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/klite/klite/internal/controller"
)

// Name is the controller's name for --controllers.
const Name = "serviceaccount"

// Default is the ServiceAccount every namespace gets.
const Default = "default"

// Config is what the controller needs.
type Config struct {
	Client          kubernetes.Interface
	Namespaces      coreinformers.NamespaceInformer
	ServiceAccounts coreinformers.ServiceAccountInformer
	Logger          *slog.Logger
}

// Controller is the ServiceAccount controller.
type Controller struct {
	cfg  Config
	nsl  corelisters.NamespaceLister
	sal  corelisters.ServiceAccountLister
	loop *controller.Loop
}

// New builds the controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Namespaces == nil || cfg.ServiceAccounts == nil {
		return nil, errors.New("serviceaccount: Client, Namespaces and ServiceAccounts are required")
	}
	c := &Controller{cfg: cfg, nsl: cfg.Namespaces.Lister(), sal: cfg.ServiceAccounts.Lister()}
	loop, err := controller.New(controller.Config{
		Name: Name, Reconciler: c, Logger: cfg.Logger,
		Synced: []cache.InformerSynced{cfg.Namespaces.Informer().HasSynced, cfg.ServiceAccounts.Informer().HasSynced},
	})
	if err != nil {
		return nil, err
	}
	c.loop = loop
	if _, err := cfg.Namespaces.Informer().AddEventHandler(loop.Handler()); err != nil {
		return nil, err
	}
	_, err = cfg.ServiceAccounts.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if sa, ok := obj.(*corev1.ServiceAccount); ok && sa.Name == Default {
				loop.EnqueueKey(sa.Namespace)
			}
		},
	})
	return c, err
}

// Start runs the controller until ctx is cancelled.
func (c *Controller) Start(ctx context.Context) error { return c.loop.Start(ctx) }

// Reconcile creates the default ServiceAccount of the namespace named key when it is missing.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	_, active, err := controller.ActiveNamespace(c.nsl, key)
	if err != nil || !active {
		return err
	}
	if _, err := c.sal.ServiceAccounts(key).Get(Default); err == nil {
		return nil
	}
	_, err = c.cfg.Client.CoreV1().ServiceAccounts(key).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: Default}}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) || apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		return nil
	}
	return err
}
