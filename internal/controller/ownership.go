package controller

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// Owner identifies a controlling object: what a controllerRef to it must say.
type Owner struct {
	APIVersion, Kind, Name string
	UID                    types.UID
	// Deleting: the owner has a deletionTimestamp and must not adopt.
	Deleting bool
}

// Ref returns a controller ownerReference to o that blocks o's foreground deletion.
func (o Owner) Ref() metav1.OwnerReference {
	t := true
	return metav1.OwnerReference{APIVersion: o.APIVersion, Kind: o.Kind, Name: o.Name, UID: o.UID, Controller: &t, BlockOwnerDeletion: &t}
}

// OwnerOf describes obj as an Owner of the given apiVersion and kind.
func OwnerOf(obj metav1.Object, apiVersion, kind string) Owner {
	return Owner{APIVersion: apiVersion, Kind: kind, Name: obj.GetName(), UID: obj.GetUID(), Deleting: obj.GetDeletionTimestamp() != nil}
}

// Patcher sends a merge patch to the named object in the owner's namespace.
type Patcher func(ctx context.Context, name string, patch []byte) error

// Claim sorts objs into those o controls after adopting orphans that match selector and
// releasing owned ones that no longer match (the controller ref manager). Objects being deleted
// are neither adopted nor released. Patch errors for one object leave it out and are returned
// joined after the rest are handled; NotFound is ignored.
func Claim[T metav1.Object](ctx context.Context, o Owner, selector labels.Selector, objs []T, patch Patcher) ([]T, error) {
	var claimed []T
	var errs []error
	for _, obj := range objs {
		ref := metav1.GetControllerOfNoCopy(obj)
		matches := selector.Matches(labels.Set(obj.GetLabels()))
		switch {
		case ref != nil && ref.UID == o.UID:
			if matches || obj.GetDeletionTimestamp() != nil || o.Deleting {
				claimed = append(claimed, obj)
				continue
			}
			if err := patch(ctx, obj.GetName(), releasePatch(obj, o.UID)); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
		case ref == nil && matches && !o.Deleting && obj.GetDeletionTimestamp() == nil:
			if err := patch(ctx, obj.GetName(), adoptPatch(obj, o)); err != nil {
				if !apierrors.IsNotFound(err) {
					errs = append(errs, err)
				}
				continue
			}
			claimed = append(claimed, obj)
		}
	}
	return claimed, joinErrs(errs)
}

// adoptPatch adds a controllerRef to o, guarded by the object's uid and resourceVersion so that a
// concurrent change (another controller adopting) makes it fail with a conflict.
func adoptPatch(obj metav1.Object, o Owner) []byte {
	refs := append(append([]metav1.OwnerReference{}, obj.GetOwnerReferences()...), o.Ref())
	return mustJSON(map[string]any{"metadata": map[string]any{
		"ownerReferences": refs, "uid": obj.GetUID(), "resourceVersion": obj.GetResourceVersion(),
	}})
}

// releasePatch removes the ownerReference to uid.
func releasePatch(obj metav1.Object, uid types.UID) []byte {
	refs := []metav1.OwnerReference{}
	for _, r := range obj.GetOwnerReferences() {
		if r.UID != uid {
			refs = append(refs, r)
		}
	}
	return mustJSON(map[string]any{"metadata": map[string]any{
		"ownerReferences": refs, "uid": obj.GetUID(), "resourceVersion": obj.GetResourceVersion(),
	}})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("controller: marshal patch: %v", err))
	}
	return b
}

func joinErrs(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("claim: %d errors, first: %w", len(errs), errs[0])
}

// IsPodActive: not terminated and not being deleted.
func IsPodActive(p *corev1.Pod) bool {
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && p.DeletionTimestamp == nil
}

// IsPodReady reports the pod's Ready condition.
func IsPodReady(p *corev1.Pod) bool { return readySince(p) != nil }

// IsPodAvailable: ready for at least minReadySeconds at now.
func IsPodAvailable(p *corev1.Pod, minReadySeconds int32, now metav1.Time) bool {
	t := readySince(p)
	if t == nil {
		return false
	}
	return minReadySeconds == 0 || !t.Add(secs(minReadySeconds)).After(now.Time)
}

func readySince(p *corev1.Pod) *metav1.Time {
	for i := range p.Status.Conditions {
		c := &p.Status.Conditions[i]
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return &c.LastTransitionTime
		}
	}
	return nil
}
