package kubelet

import (
	"context"
	"sort"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// runtimeCache relists the runtime once for all pod workers: listing is
// O(containers) in the runtime, so per-pod lists would make a sync pass
// O(pods²). A caller asks for a snapshot taken at or after a time (after
// its own last change), so it never acts on a view older than what it did;
// concurrent callers share one relist. Statuses are refetched only for
// sandboxes and containers whose state changed.
type runtimeCache struct {
	runtime runtimeapi.RuntimeServiceClient

	mu   sync.Mutex // held while relisting: waiting callers reuse the result
	snap *snapshot
	// Statuses by ID, valid while the listed state is unchanged.
	sandboxStatus   map[string]*runtimeapi.PodSandboxStatus
	containerStatus map[string]*runtimeapi.ContainerStatus
}

// snapshot is the runtime's state grouped by pod UID.
type snapshot struct {
	taken      time.Time
	sandboxes  map[types.UID][]cachedSandbox
	containers map[types.UID][]*runtimeapi.ContainerStatus
}

type cachedSandbox struct {
	*runtimeapi.PodSandbox
	status *runtimeapi.PodSandboxStatus // only for ready sandboxes
}

func newRuntimeCache(rt runtimeapi.RuntimeServiceClient) *runtimeCache {
	return &runtimeCache{runtime: rt, sandboxStatus: map[string]*runtimeapi.PodSandboxStatus{},
		containerStatus: map[string]*runtimeapi.ContainerStatus{}}
}

// get returns a snapshot taken at or after since.
func (c *runtimeCache) get(ctx context.Context, since time.Time) (*snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.snap != nil && !c.snap.taken.Before(since) {
		return c.snap, nil
	}
	taken := time.Now()
	snap := &snapshot{taken: taken, sandboxes: map[types.UID][]cachedSandbox{}, containers: map[types.UID][]*runtimeapi.ContainerStatus{}}
	if err := c.listSandboxes(ctx, snap); err != nil {
		return nil, err
	}
	if err := c.listContainers(ctx, snap); err != nil {
		return nil, err
	}
	c.snap = snap
	return snap, nil
}

func (c *runtimeCache) listSandboxes(ctx context.Context, snap *snapshot) error {
	resp, err := c.runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return err
	}
	seen := map[string]*runtimeapi.PodSandboxStatus{}
	sort.Slice(resp.Items, func(i, j int) bool { return resp.Items[i].CreatedAt > resp.Items[j].CreatedAt })
	for _, sb := range resp.Items {
		cs := cachedSandbox{PodSandbox: sb}
		if sb.State == runtimeapi.PodSandboxState_SANDBOX_READY {
			st := c.sandboxStatus[sb.Id]
			if st == nil || st.State != sb.State {
				r, err := c.runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb.Id})
				if err != nil {
					continue // removed meanwhile
				}
				st = r.Status
			}
			cs.status, seen[sb.Id] = st, st
		}
		uid := types.UID(sb.Labels[labelPodUID])
		snap.sandboxes[uid] = append(snap.sandboxes[uid], cs)
	}
	c.sandboxStatus = seen
	return nil
}

func (c *runtimeCache) listContainers(ctx context.Context, snap *snapshot) error {
	resp, err := c.runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		return err
	}
	seen := map[string]*runtimeapi.ContainerStatus{}
	for _, ctr := range resp.Containers {
		st := c.containerStatus[ctr.Id]
		if st == nil || st.State != ctr.State {
			r, err := c.runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: ctr.Id})
			if err != nil {
				continue
			}
			st = r.Status
		}
		seen[ctr.Id] = st
		uid := types.UID(ctr.Labels[labelPodUID])
		snap.containers[uid] = append(snap.containers[uid], st)
	}
	c.containerStatus = seen
	return nil
}
