//go:build race

package runner

// initFootprint is the memory the container init charges to the
// container's cgroup before the user's program replaces it. The race
// detector's runtime makes a race-enabled klite's init hold ~21 MiB, more
// than small limits (critest's OOM spec: 15 MB); see deferMemoryLimit.
const initFootprint = 48 << 20
