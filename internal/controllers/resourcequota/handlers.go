package resourcequota

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	"github.com/klite/klite/internal/quota/usage"
)

// When the controller recomputes a quota. The API server's quota admission charges every new
// object (and every growth) into status.used before it is stored; recomputing on those events
// would race with creates still in flight (their objects not yet in the informers) and could
// lower status.used under what is really held, letting later creates overshoot. So, as
// upstream, the controller recomputes only when usage can only have gone down — an object
// deleted, or updated to use less (a pod finishing) — when a quota is new, changed or not yet
// fully counted, and on the periodic resync.

// watched are the informers of the kinds usage is summed over, by resource.
func (c *Controller) watched() map[schema.GroupResource]cache.SharedIndexInformer {
	core := func(r string) schema.GroupResource { return schema.GroupResource{Resource: r} }
	return map[schema.GroupResource]cache.SharedIndexInformer{
		core("pods"): c.cfg.Pods.Informer(), core("services"): c.cfg.Services.Informer(),
		core("configmaps"): c.cfg.ConfigMaps.Informer(), core("secrets"): c.cfg.Secrets.Informer(),
		core("persistentvolumeclaims"): c.cfg.Claims.Informer(), core("replicationcontrollers"): c.cfg.ReplicationControllers.Informer(),
	}
}

func (c *Controller) addHandlers(watched map[schema.GroupResource]cache.SharedIndexInformer) error {
	quotas := cache.ResourceEventHandlerFuncs{
		AddFunc: c.loop.Enqueue,
		UpdateFunc: func(old, cur any) {
			if needsRecount(old.(*corev1.ResourceQuota), cur.(*corev1.ResourceQuota)) {
				c.loop.Enqueue(cur)
			}
		},
		DeleteFunc: c.enqueueNamespace, // the namespace's resourcequotas count went down
	}
	if _, err := c.cfg.Quotas.Informer().AddEventHandler(quotas); err != nil {
		return err
	}
	for gr, inf := range watched {
		h := cache.ResourceEventHandlerFuncs{
			UpdateFunc: func(old, cur any) {
				if shrank(gr, old.(runtime.Object), cur.(runtime.Object)) {
					c.enqueueNamespace(cur)
				}
			},
			DeleteFunc: c.enqueueNamespace,
		}
		if _, err := inf.AddEventHandler(h); err != nil {
			return err
		}
	}
	return nil
}

// enqueueNamespace queues every quota of the object's namespace.
func (c *Controller) enqueueNamespace(o any) {
	if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = t.Obj
	}
	m, ok := o.(metav1.Object)
	if !ok {
		return
	}
	qs, _ := c.quotas.ResourceQuotas(m.GetNamespace()).List(labels.Everything())
	for _, q := range qs {
		c.loop.Enqueue(q)
	}
}

// needsRecount: the quota's limits or scopes changed, or its status does not yet count every
// limited resource.
func needsRecount(old, cur *corev1.ResourceQuota) bool {
	if !equality.Semantic.DeepEqual(old.Spec, cur.Spec) || !equality.Semantic.DeepEqual(cur.Spec.Hard, cur.Status.Hard) {
		return true
	}
	for name := range cur.Spec.Hard {
		if _, ok := cur.Status.Used[name]; !ok {
			return true
		}
	}
	return false
}

// shrank reports whether an update lowered anything the object uses (a pod finishing, a
// service losing its node ports) or changed which scopes could select it.
func shrank(gr schema.GroupResource, old, cur runtime.Object) bool {
	if op, ok := old.(*corev1.Pod); ok {
		cp := cur.(*corev1.Pod)
		if usage.BestEffort(op) != usage.BestEffort(cp) || op.Spec.PriorityClassName != cp.Spec.PriorityClassName {
			return true
		}
	}
	before, after := usage.Of(gr, old), usage.Of(gr, cur)
	for name, q := range before {
		if a, ok := after[name]; !ok || a.Cmp(q) < 0 {
			return true
		}
	}
	return false
}
