// Package resourcequota keeps each ResourceQuota's status current: status.hard mirrors
// spec.hard and status.used counts what the namespace holds of each limited resource — object
// counts (pods, services, configmaps, secrets, persistentvolumeclaims, replicationcontrollers,
// resourcequotas, and their count/<resource> forms), pod compute requests and limits, and claim
// storage (also per storage class). The API server's admission enforces the limits against it.
package resourcequota

import (
	"context"
	"errors"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/klite/klite/internal/controller"
)

// Name is the controller's name for --controllers (upstream's).
const Name = "resourcequota"

// Config is what the controller needs.
type Config struct {
	Client                 kubernetes.Interface
	Quotas                 coreinformers.ResourceQuotaInformer
	Pods                   coreinformers.PodInformer
	Services               coreinformers.ServiceInformer
	ConfigMaps             coreinformers.ConfigMapInformer
	Secrets                coreinformers.SecretInformer
	Claims                 coreinformers.PersistentVolumeClaimInformer
	ReplicationControllers coreinformers.ReplicationControllerInformer
	Logger                 *slog.Logger
	// Resync recomputes every quota this often besides the event-driven updates (default 5m).
	Resync time.Duration
}

// Controller is the quota usage controller.
type Controller struct {
	cfg    Config
	quotas corelisters.ResourceQuotaLister
	loop   *controller.Loop
}

// New builds the controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Quotas == nil || cfg.Pods == nil || cfg.Services == nil || cfg.ConfigMaps == nil ||
		cfg.Secrets == nil || cfg.Claims == nil || cfg.ReplicationControllers == nil {
		return nil, errors.New("resourcequota: Client and all informers are required")
	}
	if cfg.Resync == 0 {
		cfg.Resync = 5 * time.Minute
	}
	c := &Controller{cfg: cfg, quotas: cfg.Quotas.Lister()}
	watched := c.watched()
	synced := []cache.InformerSynced{cfg.Quotas.Informer().HasSynced}
	for _, inf := range watched {
		synced = append(synced, inf.HasSynced)
	}
	loop, err := controller.New(controller.Config{Name: Name, Reconciler: c, Workers: 2, Logger: cfg.Logger, Synced: synced})
	if err != nil {
		return nil, err
	}
	c.loop = loop
	if err := c.addHandlers(watched); err != nil {
		return nil, err
	}
	return c, nil
}

// Start runs the controller until ctx is cancelled.
func (c *Controller) Start(ctx context.Context) error { return c.loop.Start(ctx) }

// Reconcile recomputes the usage of the quota named key.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	q, err := c.quotas.ResourceQuotas(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	used, err := c.usage(ctx, q)
	if err != nil {
		return err
	}
	st := corev1.ResourceQuotaStatus{Hard: q.Spec.Hard, Used: used}
	if !equality.Semantic.DeepEqual(q.Status, st) {
		next := q.DeepCopy()
		next.Status = st
		if _, err := c.cfg.Client.CoreV1().ResourceQuotas(ns).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return controller.RequeueAfter(c.cfg.Resync)
}
