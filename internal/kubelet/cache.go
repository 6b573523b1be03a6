package kubelet

import (
	"context"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// runtimeCache relists the runtime once for all pod workers: listing is
// O(containers) in the runtime, so per-pod lists would make a sync pass
// O(pods²). A caller asks for a snapshot taken at or after a time (after
// its own last change), so it never acts on a view older than what it did.
// One relist runs at a time, without the lock held: every caller that
// needs a newer view than the current one waits for the running relist
// when it started late enough, else all of them share the next one (a
// PLEG-style relist, batched by demand). Statuses are refetched only for
// sandboxes and containers whose state changed.
type runtimeCache struct {
	runtime runtimeapi.RuntimeServiceClient

	mu       sync.Mutex
	snap     *snapshot
	inflight *relist // the relist running now, or nil
	// notify is told of every pod whose sandboxes or containers a relist
	// found changed (the PLEG's events): its worker wakes up.
	notify  func(types.UID)
	started sync.Once // the periodic relister

	// Statuses by ID, valid while the listed state is unchanged: a relist
	// asks the runtime only for the others. smu guards them.
	smu             sync.Mutex
	sandboxStatus   map[string]*runtimeapi.PodSandboxStatus
	containerStatus map[string]*runtimeapi.ContainerStatus
	// Statuses remembered since the running relist started (which its
	// listing may not show yet); it keeps them.
	recentSandbox   map[string]*runtimeapi.PodSandboxStatus
	recentContainer map[string]*runtimeapi.ContainerStatus
}

// relist is one run of listing the runtime; done is closed when snap or err is set.
type relist struct {
	started time.Time
	done    chan struct{}
	snap    *snapshot
	err     error
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
		containerStatus: map[string]*runtimeapi.ContainerStatus{}, recentSandbox: map[string]*runtimeapi.PodSandboxStatus{},
		recentContainer: map[string]*runtimeapi.ContainerStatus{}}
}

// taken is when the current snapshot was taken (zero before the first).
func (c *runtimeCache) taken() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.snap == nil {
		return time.Time{}
	}
	return c.snap.taken
}

// get returns a snapshot taken at or after since.
func (c *runtimeCache) get(ctx context.Context, since time.Time) (*snapshot, error) {
	for {
		c.mu.Lock()
		if c.snap != nil && !c.snap.taken.Before(since) {
			snap := c.snap
			c.mu.Unlock()
			return snap, nil
		}
		r := c.inflight
		if r == nil {
			r = &relist{started: time.Now(), done: make(chan struct{})}
			c.inflight = r
			c.mu.Unlock()
			return c.run(ctx, r)
		}
		c.mu.Unlock()
		select {
		case <-r.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if r.err == nil && !r.started.Before(since) {
			return r.snap, nil
		}
	}
}

// run performs the relist r for every caller waiting on it.
func (c *runtimeCache) run(ctx context.Context, r *relist) (*snapshot, error) {
	snap := &snapshot{taken: r.started, sandboxes: map[types.UID][]cachedSandbox{}, containers: map[types.UID][]*runtimeapi.ContainerStatus{}}
	c.smu.Lock()
	c.recentSandbox, c.recentContainer = map[string]*runtimeapi.PodSandboxStatus{}, map[string]*runtimeapi.ContainerStatus{}
	c.smu.Unlock()
	r.err = c.listSandboxes(ctx, snap)
	if r.err == nil {
		r.err = c.listContainers(ctx, snap)
	}
	c.mu.Lock()
	prev, notify := c.snap, c.notify
	if r.err == nil {
		r.snap, c.snap = snap, snap
	}
	c.inflight = nil
	c.mu.Unlock()
	close(r.done)
	if r.err == nil && prev != nil && notify != nil {
		for _, uid := range changedPods(prev, snap) {
			notify(uid)
		}
	}
	return r.snap, r.err
}

// relistEvery keeps the snapshot no older than period until ctx ends, and
// so tells workers of exits and other changes without them polling.
func (c *runtimeCache) relistEvery(ctx context.Context, period time.Duration, notify func(types.UID)) {
	c.mu.Lock()
	c.notify = notify
	c.mu.Unlock()
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, _ = c.get(ctx, time.Now().Add(-period/2))
	}
}

// changedPods lists the pods whose sandboxes or containers (by ID and
// state) differ between two snapshots.
func changedPods(old, cur *snapshot) []types.UID {
	var out []types.UID
	seen := map[types.UID]bool{}
	for _, s := range []*snapshot{old, cur} {
		for uid := range s.sandboxes {
			seen[uid] = true
		}
		for uid := range s.containers {
			seen[uid] = true
		}
	}
	for uid := range seen {
		if old.fingerprint(uid) != cur.fingerprint(uid) {
			out = append(out, uid)
		}
	}
	return out
}

// fingerprint is the IDs and states of a pod's sandboxes and containers.
func (s *snapshot) fingerprint(uid types.UID) string {
	var parts []string
	for _, sb := range s.sandboxes[uid] {
		parts = append(parts, sb.Id+"="+sb.State.String())
	}
	for _, c := range s.containers[uid] {
		parts = append(parts, c.Id+"="+c.State.String())
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// rememberContainer keeps a status a worker just read, so the next relist
// need not ask for it again.
func (c *runtimeCache) rememberContainer(st *runtimeapi.ContainerStatus) {
	c.smu.Lock()
	c.containerStatus[st.Id], c.recentContainer[st.Id] = st, st
	c.smu.Unlock()
}

// rememberSandbox is rememberContainer for a sandbox.
func (c *runtimeCache) rememberSandbox(st *runtimeapi.PodSandboxStatus) {
	c.smu.Lock()
	c.sandboxStatus[st.Id], c.recentSandbox[st.Id] = st, st
	c.smu.Unlock()
}

func (c *runtimeCache) knownSandbox(id string) *runtimeapi.PodSandboxStatus {
	c.smu.Lock()
	defer c.smu.Unlock()
	return c.sandboxStatus[id]
}

func (c *runtimeCache) knownContainer(id string) *runtimeapi.ContainerStatus {
	c.smu.Lock()
	defer c.smu.Unlock()
	return c.containerStatus[id]
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
			st := c.knownSandbox(sb.Id)
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
	c.smu.Lock()
	maps.Copy(seen, c.recentSandbox)
	c.sandboxStatus = seen
	c.smu.Unlock()
	return nil
}

func (c *runtimeCache) listContainers(ctx context.Context, snap *snapshot) error {
	resp, err := c.runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		return err
	}
	seen := map[string]*runtimeapi.ContainerStatus{}
	for _, ctr := range resp.Containers {
		st := c.knownContainer(ctr.Id)
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
	c.smu.Lock()
	maps.Copy(seen, c.recentContainer)
	c.containerStatus = seen
	c.smu.Unlock()
	return nil
}
