// Package informer builds the client-go informer factories klite's
// components cache the cluster with.
//
// Every cached object is kept without its managedFields, as upstream's
// scheduler and controller manager keep theirs: no component reads them,
// and they are about half of a typical pod. Writing such an object back is
// safe: an update whose object carries no managedFields keeps the stored
// ones (the API server's field manager falls back to the live object's).
package informer

import (
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
)

// NewFactory is informers.NewSharedInformerFactoryWithOptions with no
// resync and DropManagedFields as the transform of every informer.
func NewFactory(client kubernetes.Interface, opts ...informers.SharedInformerOption) informers.SharedInformerFactory {
	opts = append([]informers.SharedInformerOption{informers.WithTransform(DropManagedFields)}, opts...)
	return informers.NewSharedInformerFactoryWithOptions(client, 0, opts...)
}

// DropManagedFields is a cache.TransformFunc that clears an object's
// managedFields in place (the informer owns the object it transforms);
// anything without object metadata passes unchanged.
func DropManagedFields(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil && m.GetManagedFields() != nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}
