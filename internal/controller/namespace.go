package controller

import (
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// ActiveNamespace returns the namespace called name from the lister when it exists and is not
// being deleted; ok is false (with no error) for a missing or terminating namespace, where
// controllers that populate namespaces have nothing to do.
func ActiveNamespace(l corelisters.NamespaceLister, name string) (ns *corev1.Namespace, ok bool, err error) {
	ns, err = l.Get(name)
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if ns.Status.Phase == corev1.NamespaceTerminating || ns.DeletionTimestamp != nil {
		return nil, false, nil
	}
	return ns, true, nil
}
