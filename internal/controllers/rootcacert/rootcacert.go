// Package rootcacert publishes the cluster's CA bundle as the `kube-root-ca.crt` ConfigMap
// (key ca.crt) in every active namespace, so pods can verify the API server; edits and
// deletions are undone.
package rootcacert

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

// Name is the controller's name for --controllers (upstream's).
const Name = "root-ca-cert-publisher"

// ConfigMapName and Key are where the bundle goes.
const (
	ConfigMapName = "kube-root-ca.crt"
	Key           = "ca.crt"
	description   = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."
)

// Config is what the controller needs.
type Config struct {
	Client     kubernetes.Interface
	Namespaces coreinformers.NamespaceInformer
	ConfigMaps coreinformers.ConfigMapInformer
	RootCA     []byte // PEM bundle
	Logger     *slog.Logger
}

// Controller is the root CA publisher.
type Controller struct {
	cfg  Config
	nsl  corelisters.NamespaceLister
	cml  corelisters.ConfigMapLister
	loop *controller.Loop
}

// New builds the controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Namespaces == nil || cfg.ConfigMaps == nil || len(cfg.RootCA) == 0 {
		return nil, errors.New("rootcacert: Client, Namespaces, ConfigMaps and RootCA are required")
	}
	c := &Controller{cfg: cfg, nsl: cfg.Namespaces.Lister(), cml: cfg.ConfigMaps.Lister()}
	loop, err := controller.New(controller.Config{
		Name: Name, Reconciler: c, Logger: cfg.Logger,
		Synced: []cache.InformerSynced{cfg.Namespaces.Informer().HasSynced, cfg.ConfigMaps.Informer().HasSynced},
	})
	if err != nil {
		return nil, err
	}
	c.loop = loop
	if _, err := cfg.Namespaces.Informer().AddEventHandler(loop.Handler()); err != nil {
		return nil, err
	}
	byNamespace := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if cm, ok := obj.(*corev1.ConfigMap); ok && cm.Name == ConfigMapName {
			loop.EnqueueKey(cm.Namespace)
		}
	}
	_, err = cfg.ConfigMaps.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, o any) { byNamespace(o) }, DeleteFunc: byNamespace,
	})
	return c, err
}

// Start runs the controller until ctx is cancelled.
func (c *Controller) Start(ctx context.Context) error { return c.loop.Start(ctx) }

// Reconcile makes the namespace named key carry the current bundle.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	_, active, err := controller.ActiveNamespace(c.nsl, key)
	if err != nil || !active {
		return err
	}
	want := map[string]string{Key: string(c.cfg.RootCA)}
	cm, err := c.cml.ConfigMaps(key).Get(ConfigMapName)
	switch {
	case apierrors.IsNotFound(err):
		_, err = c.cfg.Client.CoreV1().ConfigMaps(key).Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: ConfigMapName, Annotations: map[string]string{"kubernetes.io/description": description}},
			Data:       want,
		}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) || apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil
		}
		return err
	case err != nil:
		return err
	case len(cm.Data) == 1 && cm.Data[Key] == want[Key] && len(cm.BinaryData) == 0:
		return nil
	}
	cm = cm.DeepCopy()
	cm.Data, cm.BinaryData = want, nil
	_, err = c.cfg.Client.CoreV1().ConfigMaps(key).Update(ctx, cm, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
