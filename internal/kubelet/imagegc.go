package kubelet

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// Image garbage collection defaults, as upstream's KubeletConfiguration.
const (
	DefaultImageGCHighThresholdPercent = 85
	DefaultImageGCLowThresholdPercent  = 80
	DefaultImageMinimumGCAge           = 2 * time.Minute
)

// imageGC frees the image filesystem: when its usage reaches the high
// threshold it removes images no container uses (running or exited), the
// least recently used first, until usage is back under the low threshold.
// Images first seen less than minAge ago and pinned images are kept.
type imageGC struct {
	runtime        runtimeapi.RuntimeServiceClient
	images         runtimeapi.ImageServiceClient
	high, low      int
	minAge         time.Duration
	mu             sync.Mutex
	records        map[string]*imageRecord // by image ID
	onRemove       func(id string, tags []string, size uint64)
	onInsufficient func(want, freed uint64)
}

// imageRecord is what the kubelet remembers of one image.
type imageRecord struct {
	firstDetected, lastUsed time.Time
	size                    uint64
	pinned                  bool
	tags                    []string
}

// detect lists the images and the containers, records new images and
// marks the used ones as used now; it returns the IDs of the images in use.
func (g *imageGC) detect(ctx context.Context, now time.Time) (map[string]bool, error) {
	imgs, err := g.images.ListImages(ctx, &runtimeapi.ListImagesRequest{})
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	ctrs, err := g.runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.records == nil {
		g.records = map[string]*imageRecord{}
	}
	inUse := map[string]bool{}
	seen := map[string]*imageRecord{}
	for _, img := range imgs.Images {
		r := g.records[img.Id]
		if r == nil {
			r = &imageRecord{firstDetected: now}
		}
		r.size, r.pinned, r.tags = img.Size, img.Pinned, slices.Concat(img.RepoTags, img.RepoDigests)
		seen[img.Id] = r
		if usedBy(img, ctrs.Containers) {
			inUse[img.Id], r.lastUsed = true, now
		}
	}
	g.records = seen
	return inUse, nil
}

// usedBy reports whether any container uses img (by ID or by reference).
func usedBy(img *runtimeapi.Image, ctrs []*runtimeapi.Container) bool {
	for _, c := range ctrs {
		if c.ImageRef == img.Id || c.ImageId == img.Id || c.GetImage().GetImage() == img.Id ||
			slices.Contains(img.RepoTags, c.GetImage().GetImage()) || slices.Contains(img.RepoDigests, c.GetImage().GetImage()) {
			return true
		}
	}
	return false
}

// garbageCollect frees space when the image filesystem's usage is at or
// over the high threshold.
func (g *imageGC) garbageCollect(ctx context.Context, fs *statsapi.FsStats, now time.Time) error {
	if fs == nil || fs.CapacityBytes == nil || fs.AvailableBytes == nil || *fs.CapacityBytes == 0 {
		return nil
	}
	if g.high >= 100 {
		return nil // disabled, as upstream
	}
	capacity, avail := *fs.CapacityBytes, *fs.AvailableBytes
	usage := 100 - int(avail*100/capacity)
	if usage < g.high {
		return nil
	}
	target := capacity * uint64(100-g.low) / 100
	if avail >= target {
		return nil
	}
	want := target - avail
	freed, err := g.freeSpace(ctx, want, now)
	if err != nil {
		return err
	}
	if freed < want && g.onInsufficient != nil {
		g.onInsufficient(want, freed)
	}
	return nil
}

// freeSpace removes unused images, least recently used first, until
// bytes are freed (or none is left); it returns what it freed.
func (g *imageGC) freeSpace(ctx context.Context, bytes uint64, now time.Time) (uint64, error) {
	inUse, err := g.detect(ctx, now)
	if err != nil {
		return 0, err
	}
	var freed uint64
	for _, c := range g.candidates(inUse, now) {
		if freed >= bytes {
			break
		}
		_, err := g.images.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: c.id}})
		if err != nil {
			continue // used meanwhile: the runtime refuses
		}
		freed += c.size
		g.mu.Lock()
		delete(g.records, c.id)
		g.mu.Unlock()
		if g.onRemove != nil {
			g.onRemove(c.id, c.tags, c.size)
		}
	}
	return freed, nil
}

type gcCandidate struct {
	id string
	imageRecord
}

// candidates are the removable images, least recently used first (never
// used: first detected first).
func (g *imageGC) candidates(inUse map[string]bool, now time.Time) []gcCandidate {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []gcCandidate
	for id, r := range g.records {
		if inUse[id] || r.pinned || now.Sub(r.firstDetected) < g.minAge {
			continue
		}
		out = append(out, gcCandidate{id: id, imageRecord: *r})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.lastUsed.Equal(b.lastUsed) {
			return a.lastUsed.Before(b.lastUsed)
		}
		if !a.firstDetected.Equal(b.firstDetected) {
			return a.firstDetected.Before(b.firstDetected)
		}
		return a.id < b.id
	})
	return out
}

// newImageGC configures image GC from the kubelet's config; removals are
// logged and a shortfall is a FreeDiskSpaceFailed event on the node.
func (k *Kubelet) newImageGC() *imageGC {
	nodeRef := &corev1.ObjectReference{Kind: "Node", Name: k.cfg.NodeName, UID: types.UID(k.cfg.NodeName)}
	return &imageGC{runtime: k.runtime, images: k.images, high: k.cfg.ImageGCHighThresholdPercent,
		low: k.cfg.ImageGCLowThresholdPercent, minAge: k.cfg.ImageMinimumGCAge,
		onRemove: func(id string, tags []string, size uint64) {
			k.log.Info("image garbage collected", "image", id, "tags", tags, "size", size)
		},
		onInsufficient: func(want, freed uint64) {
			if k.recorder != nil {
				k.recorder.Eventf(nodeRef, corev1.EventTypeWarning, "FreeDiskSpaceFailed",
					"Failed to garbage collect required amount of images. Attempted to free %d bytes, but only found %d bytes eligible to free.", want, freed)
			}
		}}
}
