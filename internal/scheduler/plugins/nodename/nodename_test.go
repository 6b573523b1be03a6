package nodename

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/scheduler/framework"
)

func TestFilter(t *testing.T) {
	node := framework.NewNodeInfo(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}})
	tests := []struct {
		name     string
		nodeName string
		want     framework.Code
	}{
		{"no node named", "", framework.Success},
		{"this node named", "n1", framework.Success},
		{"another node named", "n2", framework.UnschedulableAndUnresolvable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{NodeName: tc.nodeName}}
			st := (&NodeName{}).Filter(context.Background(), framework.NewCycleState(), pod, node)
			if st.Code() != tc.want || (tc.want != framework.Success && st.Message() != ErrReason) {
				t.Fatalf("status %v %q, want %v", st.Code(), st.Message(), tc.want)
			}
		})
	}
}
