package controller

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// NodeNameIndex indexes pods by spec.nodeName.
const NodeNameIndex = "spec.nodeName"

// AddNodeNameIndex adds NodeNameIndex to a pod informer (before it starts); adding it twice is
// harmless, so every node controller can ask for it.
func AddNodeNameIndex(inf cache.SharedIndexInformer) error {
	if _, ok := inf.GetIndexer().GetIndexers()[NodeNameIndex]; ok {
		return nil
	}
	return inf.AddIndexers(cache.Indexers{NodeNameIndex: func(o any) ([]string, error) {
		if p, ok := o.(*corev1.Pod); ok && p.Spec.NodeName != "" {
			return []string{p.Spec.NodeName}, nil
		}
		return nil, nil
	}})
}

// PodsOnNode lists the pods bound to node from an indexer with NodeNameIndex.
func PodsOnNode(idx cache.Indexer, node string) []*corev1.Pod {
	objs, _ := idx.ByIndex(NodeNameIndex, node)
	out := make([]*corev1.Pod, 0, len(objs))
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok {
			out = append(out, p)
		}
	}
	return out
}

// ControllerIndex indexes objects by the uid of their controller, and orphans under
// "orphan/<namespace>", so a controller finds its children and adoption candidates without
// scanning the namespace.
const ControllerIndex = "controller"

// AddControllerIndex adds ControllerIndex to an informer (before it starts); idempotent.
func AddControllerIndex(inf cache.SharedIndexInformer) error {
	if _, ok := inf.GetIndexer().GetIndexers()[ControllerIndex]; ok {
		return nil
	}
	return inf.AddIndexers(cache.Indexers{ControllerIndex: func(o any) ([]string, error) {
		m, err := meta.Accessor(o)
		if err != nil {
			return nil, nil
		}
		if ref := metav1.GetControllerOfNoCopy(m); ref != nil {
			return []string{string(ref.UID)}, nil
		}
		return []string{"orphan/" + m.GetNamespace()}, nil
	}})
}

// OwnedAndOrphans lists the objects controlled by uid and the orphans of namespace from an
// indexer with ControllerIndex.
func OwnedAndOrphans[T any](idx cache.Indexer, uid types.UID, namespace string) []T {
	var out []T
	for _, key := range []string{string(uid), "orphan/" + namespace} {
		objs, _ := idx.ByIndex(ControllerIndex, key)
		for _, o := range objs {
			if t, ok := o.(T); ok {
				out = append(out, t)
			}
		}
	}
	return out
}
