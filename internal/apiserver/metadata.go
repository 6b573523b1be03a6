package apiserver

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
)

// Partial object metadata is what client-go's metadata client and metadata informers ask for
// (Accept: ...;as=PartialObjectMetadata or PartialObjectMetadataList;g=meta.k8s.io;v=v1): each
// object reduced to its type and metadata, in JSON or protobuf, for gets, lists and watches.

// metaKinds encodes the meta.k8s.io kinds, which client-go's scheme does not register.
var metaKinds = func() *protobuf.Serializer {
	s := runtime.NewScheme()
	if err := metav1.AddMetaToScheme(s); err != nil {
		panic(err)
	}
	return protobuf.NewSerializer(s, s)
}()

// isMetaAs reports whether an Accept parameter `as` (with g and v) asks for partial metadata.
func isMetaAs(params map[string]string) bool {
	return (params["as"] == "PartialObjectMetadata" || params["as"] == "PartialObjectMetadataList") &&
		params["g"] == "meta.k8s.io" && (params["v"] == "v1" || params["v"] == "v1beta1")
}

// partial is obj's metadata as a PartialObjectMetadata; it shares obj's metadata, for encoding.
func partial(obj runtime.Object) *metav1.PartialObjectMetadata {
	p := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadata"}}
	if a, ok := obj.(metav1.ObjectMetaAccessor); ok {
		if om, ok := a.GetObjectMeta().(*metav1.ObjectMeta); ok {
			p.ObjectMeta = *om
		}
	}
	return p
}

// partialList is a list page as a PartialObjectMetadataList.
func partialList(objs []runtime.Object, rv, cont string) *metav1.PartialObjectMetadataList {
	l := &metav1.PartialObjectMetadataList{
		TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadataList"},
		ListMeta: metav1.ListMeta{ResourceVersion: rv, Continue: cont},
		Items:    make([]metav1.PartialObjectMetadata, 0, len(objs)),
	}
	for _, o := range objs {
		l.Items = append(l.Items, *partial(o))
	}
	return l
}

func encodeMetaProtobuf(obj runtime.Object) ([]byte, error) { return encodeWith(metaKinds, obj) }
