package apiserver

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	apiresource "k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/klite/klite/internal/apiserver/admission"
	"github.com/klite/klite/internal/apiserver/auth"
)

// Resource-specific write semantics, kept in one place: what a new object's status starts as,
// which allocations a Service holds, what namespaces protect.

// prepareForCreate resets what clients may not set on create.
func prepareForCreate(res *resource, obj runtime.Object) {
	switch o := obj.(type) {
	case *corev1.Pod:
		o.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: qosClass(&o.Spec)}
		addDefaultTolerations(&o.Spec)
	case *corev1.Namespace:
		// The namespace controller empties a namespace before it finalizes it.
		o.Spec.Finalizers = []corev1.FinalizerName{corev1.FinalizerKubernetes}
		o.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
	case *corev1.PersistentVolume:
		o.Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumePending}
	case *corev1.PersistentVolumeClaim:
		o.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}
	case *corev1.Node:
		// A kubelet registers its node with its status.
	default:
		if res.status {
			resetStatus(obj)
		}
	}
}

// defaultTolerationSeconds is how long pods stay on a node that went not-ready or unreachable
// before they are evicted, as upstream's DefaultTolerationSeconds admission plugin sets it.
const defaultTolerationSeconds = int64(300)

// addDefaultTolerations gives a pod the not-ready and unreachable NoExecute tolerations it does
// not already have (DefaultTolerationSeconds admission).
func addDefaultTolerations(spec *corev1.PodSpec) {
	for _, key := range []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable} {
		has := false
		for _, t := range spec.Tolerations {
			if (t.Key == key || t.Key == "" && t.Operator == corev1.TolerationOpExists) && (t.Effect == corev1.TaintEffectNoExecute || t.Effect == "") {
				has = true
			}
		}
		if !has {
			secs := defaultTolerationSeconds
			spec.Tolerations = append(spec.Tolerations, corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &secs})
		}
	}
}

// qosClass is the pod's quality-of-service class from its containers' requests and limits.
func qosClass(spec *corev1.PodSpec) corev1.PodQOSClass {
	requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
	guaranteed := true
	containers := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	for _, c := range containers {
		for name, q := range c.Resources.Requests {
			if name == corev1.ResourceCPU || name == corev1.ResourceMemory {
				if !q.IsZero() {
					addQuantity(requests, name, q)
				}
			}
		}
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			q, ok := c.Resources.Limits[name]
			if !ok || q.IsZero() {
				guaranteed = false
				continue
			}
			addQuantity(limits, name, q)
			if r, ok := c.Resources.Requests[name]; ok && r.Cmp(q) != 0 {
				guaranteed = false
			}
		}
	}
	switch {
	case len(requests) == 0 && len(limits) == 0:
		return corev1.PodQOSBestEffort
	case guaranteed:
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

func addQuantity(l corev1.ResourceList, name corev1.ResourceName, q apiresource.Quantity) {
	sum := l[name]
	sum.Add(q)
	l[name] = sum
}

// beforeCreate takes what a new object holds outside its own key (a Service's IPs and ports);
// undo gives it back if the create then fails.
func (s *Server) beforeCreate(ctx context.Context, res *resource, obj runtime.Object) (func(), error) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return func() {}, nil
	}
	return s.alloc.allocateService(ctx, svc, nil)
}

// beforeUpdate keeps a Service's allocations in step with its new spec.
func (s *Server) beforeUpdate(ctx context.Context, res *resource, obj, old runtime.Object) error {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return nil
	}
	_, err := s.alloc.allocateService(ctx, svc, old.(*corev1.Service))
	return err
}

// afterDelete releases what a removed object held.
func (s *Server) afterDelete(ctx context.Context, res *resource, obj runtime.Object) {
	if svc, ok := obj.(*corev1.Service); ok {
		s.alloc.releaseService(ctx, svc, nil)
	}
}

var protectedNamespaces = map[string]bool{"default": true, "kube-system": true, "kube-public": true}

// admitDelete runs admission for a delete; the built-in namespaces cannot be deleted.
func (s *Server) admitDelete(ctx context.Context, res *resource, cur runtime.Object, dryRun bool) error {
	m, _ := meta.Accessor(cur)
	if res.gvk.Kind == "Namespace" && res.gvk.Group == "" && protectedNamespaces[m.GetName()] {
		return apierrors.NewForbidden(res.gr(), m.GetName(), fmt.Errorf("this namespace may not be deleted"))
	}
	a := &admission.Attributes{
		Operation: admission.Delete, Resource: res.gvr(), Kind: res.gvk, Namespace: m.GetNamespace(),
		Name: m.GetName(), OldObject: cur, User: auth.UserFrom(ctx), DryRun: dryRun,
	}
	for _, p := range s.cfg.Validating {
		if err := p.Validate(ctx, a); err != nil {
			return admissionError(err)
		}
	}
	return nil
}

// namespaceLifecycle refuses creates in a namespace that does not exist or is terminating.
func (s *Server) namespaceLifecycle(ctx context.Context, a *admission.Attributes) error {
	if a.Operation != admission.Create || a.Namespace == "" || a.Subresource != "" {
		return nil
	}
	nsStore := s.stores[core.WithResource("namespaces")]
	// An active namespace in the watch cache settles it without an etcd read; anything else
	// (missing, terminating, or not yet seen by the cache) is checked against etcd.
	if e, ok := nsStore.cache.Get(nsStore.key("", a.Namespace)); ok {
		if ns := e.Obj.(*corev1.Namespace); ns.DeletionTimestamp == nil && ns.Status.Phase == corev1.NamespaceActive {
			return nil
		}
	}
	obj, _, err := nsStore.get(ctx, "", a.Namespace)
	if apierrors.IsNotFound(err) {
		return apierrors.NewNotFound(nsStore.res.gr(), a.Namespace)
	}
	if err != nil {
		return err
	}
	ns := obj.(*corev1.Namespace)
	if ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating {
		// Events about the namespace's own teardown are still welcome, as upstream allows.
		if a.Resource.Resource == "events" {
			return nil
		}
		return apierrors.NewForbidden(schemaGroupResourceFor(a), a.Name,
			fmt.Errorf("unable to create new content in namespace %s because it is being terminated", a.Namespace))
	}
	return nil
}

func schemaGroupResourceFor(a *admission.Attributes) schema.GroupResource {
	return a.Resource.GroupResource()
}

// namespaceHasSpecFinalizers: a namespace goes only once its spec.finalizers are emptied through
// the finalize subresource (by the namespace controller, after it has deleted the contents).
func namespaceHasSpecFinalizers(res *resource, obj runtime.Object) bool {
	ns, ok := obj.(*corev1.Namespace)
	return ok && len(ns.Spec.Finalizers) > 0
}

// copyFinalizeSpec takes the spec.finalizers of a finalize request.
func copyFinalizeSpec(dst, in runtime.Object) {
	d, ok1 := dst.(*corev1.Namespace)
	i, ok2 := in.(*corev1.Namespace)
	if ok1 && ok2 {
		d.Spec.Finalizers = i.Spec.Finalizers
	}
}
