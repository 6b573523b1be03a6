// Package defaultbinder binds a pod through the pods/binding subresource.
package defaultbinder

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/scheduler/framework"
)

// Name is the plugin's registry name.
const Name = "DefaultBinder"

// DefaultBinder implements Bind.
type DefaultBinder struct{ h framework.Handle }

var _ framework.BindPlugin = &DefaultBinder{}

// New returns the plugin.
func New(_ context.Context, _ json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	return &DefaultBinder{h: h}, nil
}

// Name returns Name.
func (*DefaultBinder) Name() string { return Name }

// Bind posts a Binding for the pod, guarded by its UID.
func (b *DefaultBinder) Bind(ctx context.Context, _ *framework.CycleState, pod *corev1.Pod, node string) *framework.Status {
	binding := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: node},
	}
	return framework.AsStatus(b.h.Client().CoreV1().Pods(pod.Namespace).Bind(ctx, binding, metav1.CreateOptions{}))
}
