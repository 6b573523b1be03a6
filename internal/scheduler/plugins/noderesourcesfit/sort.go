package noderesourcesfit

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
)

func sortedKeys(m map[corev1.ResourceName]int64) []corev1.ResourceName {
	out := make([]corev1.ResourceName, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
