package apiserver

import (
	"encoding/json"
	"fmt"
	"net/http"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

var scaleGVK = autoscalingv1.SchemeGroupVersion.WithKind("Scale")

// serveScale handles the scale subresource: an autoscaling/v1 Scale view of spec.replicas.
func (s *Server) serveScale(w http.ResponseWriter, r *http.Request, st *store, ri requestInfo) {
	out, err := negotiate(r)
	if err != nil {
		writeError(w, err)
		return
	}
	switch ri.verb {
	case "get":
		obj, _, err := st.get(r.Context(), ri.namespace, ri.name)
		if err != nil {
			writeError(w, err)
			return
		}
		writeObject(w, http.StatusOK, scaleOf(obj), out)
	case "update", "patch":
		body, err := s.readBody(r)
		if err != nil {
			writeError(w, err)
			return
		}
		ct := r.Header.Get("Content-Type")
		ri.manager = managerOf(r)
		obj, err := s.update(r.Context(), st, ri, "scale", isDryRun(r), func(cur runtime.Object) (runtime.Object, error) {
			return s.scaled(ri.verb, ct, cur, body)
		})
		if err != nil {
			writeError(w, err)
			return
		}
		writeObject(w, http.StatusOK, scaleOf(obj), out)
	default:
		writeError(w, methodNotAllowed(r, st))
	}
}

// scaled computes the object after a scale write (a Scale body, or a patch of the Scale).
func (s *Server) scaled(verb, contentType string, cur runtime.Object, body []byte) (runtime.Object, error) {
	current := scaleOf(cur)
	if verb == "patch" {
		curJSON, _ := json.Marshal(current)
		patched, err := s.applyPatchJSON(types.PatchType(mediaType(contentType)), curJSON, body, &autoscalingv1.Scale{})
		if err != nil {
			return nil, err
		}
		body, contentType = patched, "application/json"
	}
	var in autoscalingv1.Scale
	if err := s.codec.decodeOptions(body, contentType, &in); err != nil {
		return nil, err
	}
	if in.Spec.Replicas < 0 {
		return nil, apierrors.NewInvalid(scaleGVK.GroupKind(), in.Name, fieldErrs("spec.replicas", fmt.Sprint(in.Spec.Replicas), "must be greater than or equal to 0"))
	}
	next := cur.DeepCopyObject()
	setReplicas(next, in.Spec.Replicas)
	setRV(next, in.ResourceVersion)
	return next, nil
}

func setRV(obj runtime.Object, rv string) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetResourceVersion(rv)
	}
}

func scaleOf(obj runtime.Object) *autoscalingv1.Scale {
	m := obj.(metav1.Object)
	sc := &autoscalingv1.Scale{
		TypeMeta: metav1.TypeMeta{Kind: "Scale", APIVersion: "autoscaling/v1"},
		ObjectMeta: metav1.ObjectMeta{Name: m.GetName(), Namespace: m.GetNamespace(), UID: m.GetUID(),
			ResourceVersion: m.GetResourceVersion(), CreationTimestamp: m.GetCreationTimestamp()},
	}
	var sel *metav1.LabelSelector
	switch o := obj.(type) {
	case *appsv1.Deployment:
		sc.Spec.Replicas, sc.Status.Replicas, sel = deref(o.Spec.Replicas, 1), o.Status.Replicas, o.Spec.Selector
	case *appsv1.ReplicaSet:
		sc.Spec.Replicas, sc.Status.Replicas, sel = deref(o.Spec.Replicas, 1), o.Status.Replicas, o.Spec.Selector
	case *appsv1.StatefulSet:
		sc.Spec.Replicas, sc.Status.Replicas, sel = deref(o.Spec.Replicas, 1), o.Status.Replicas, o.Spec.Selector
	case *corev1.ReplicationController:
		sc.Spec.Replicas, sc.Status.Replicas = deref(o.Spec.Replicas, 1), o.Status.Replicas
		sc.Status.Selector = labels.SelectorFromSet(o.Spec.Selector).String()
	}
	if sel != nil {
		if s, err := metav1.LabelSelectorAsSelector(sel); err == nil {
			sc.Status.Selector = s.String()
		}
	}
	return sc
}

func setReplicas(obj runtime.Object, n int32) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		o.Spec.Replicas = &n
	case *appsv1.ReplicaSet:
		o.Spec.Replicas = &n
	case *appsv1.StatefulSet:
		o.Spec.Replicas = &n
	case *corev1.ReplicationController:
		o.Spec.Replicas = &n
	}
}

func deref(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

var _ = schema.GroupKind{}
