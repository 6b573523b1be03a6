//go:build !race

package runner

// initFootprint is the memory the container init charges to the
// container's cgroup before the user's program replaces it, when that is
// more than a limit may be (see deferMemoryLimit): none for a normal build,
// whose init needs less than 4 MiB.
const initFootprint = 0
