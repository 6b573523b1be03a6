// Package imagelocality is the ImageLocality scorer: it prefers nodes that already hold the pod's
// container images, weighting each image by its size and by how widely it is spread (so one node
// with a rare image does not attract every pod).
package imagelocality

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"

	"github.com/klite/klite/internal/scheduler/framework"
)

// Name is the plugin's registry name.
const Name = "ImageLocality"

// Upstream's thresholds: images below min count for nothing; the score saturates at max per container.
const (
	mb           int64 = 1024 * 1024
	minThreshold       = 23 * mb
	maxThreshold       = 1000 * mb
)

// ImageLocality implements the scorer.
type ImageLocality struct{ h framework.Handle }

var _ framework.ScorePlugin = &ImageLocality{}

// New returns the plugin.
func New(_ context.Context, _ json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	return &ImageLocality{h: h}, nil
}

// Name returns Name.
func (*ImageLocality) Name() string { return Name }

// Score sums the spread-scaled sizes of the pod's images present on the node, mapped to 0..100.
func (p *ImageLocality) Score(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, node *framework.NodeInfo) (int64, *framework.Status) {
	if len(node.ImageSizes) == 0 {
		return 0, nil
	}
	snap := p.h.Snapshot()
	total := len(snap.Nodes)
	var sum int64
	containers := 0
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			containers++
			name := framework.NormalizeImage(c.Image)
			if size, ok := node.ImageSizes[name]; ok && total > 0 {
				sum += int64(float64(size) * float64(snap.ImageNumNodes[name]) / float64(total))
			}
		}
	}
	hi := maxThreshold * int64(containers)
	sum = min(max(sum, minThreshold), hi)
	return framework.MaxNodeScore * (sum - minThreshold) / (hi - minThreshold), nil
}
