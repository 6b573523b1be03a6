package usage

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Constraints checks that every container of p states each compute resource among required
// (a quota's hard names) that quota insists on: `must specify cpu for: a,b; memory for: a`.
func Constraints(required []corev1.ResourceName, p *corev1.Pod) error {
	missing := map[corev1.ResourceName][]string{}
	for _, cs := range [][]corev1.Container{p.Spec.Containers, p.Spec.InitContainers} {
		for i := range cs {
			for _, r := range required {
				if slices.Contains(mustSpecify, r) && !states(&cs[i], r) && !slices.Contains(missing[r], cs[i].Name) {
					missing[r] = append(missing[r], cs[i].Name)
				}
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var names []string
	for r := range missing {
		names = append(names, string(r))
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, r := range names {
		containers := missing[corev1.ResourceName(r)]
		sort.Strings(containers)
		parts = append(parts, fmt.Sprintf("%s for: %s", r, strings.Join(containers, ",")))
	}
	return fmt.Errorf("must specify %s", strings.Join(parts, "; "))
}

// states reports whether container c sets the request or limit quota resource r stands for.
func states(c *corev1.Container, r corev1.ResourceName) bool {
	name := string(r)
	if limit, ok := strings.CutPrefix(name, "limits."); ok {
		_, set := c.Resources.Limits[corev1.ResourceName(limit)]
		return set
	}
	name = strings.TrimPrefix(name, "requests.")
	_, set := c.Resources.Requests[corev1.ResourceName(name)]
	return set
}
