package deployment

import (
	"context"
	"math"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
)

// rolling takes one RollingUpdate step: scale the new ReplicaSet up within maxSurge, else scale
// old ones down within maxUnavailable, else clean up history once complete.
func (p *pass) rolling(ctx context.Context) error {
	if p.newRS == nil {
		rs, err := p.createNewRS(ctx, p.maxRevision()+1, p.newRSSize())
		if err != nil {
			return err
		}
		p.newRS = rs
		return p.setDeploymentRevision(ctx, rs.Annotations[RevisionAnnotation])
	}
	if err := p.scaleRS(ctx, p.newRS, p.newRSSize()); err != nil || p.scaled {
		return err
	}
	if err := p.scaleDownOld(ctx); err != nil || p.scaled {
		return err
	}
	return p.cleanup(ctx)
}

// newRSSize is the new ReplicaSet's size allowed by maxSurge.
func (p *pass) newRSSize() int32 {
	cur := replicas(p.newRS) + sumReplicas(p.old)
	maxTotal := p.want() + p.maxSurge()
	if cur >= maxTotal {
		return min(replicas(p.newRS), max(p.want(), 0))
	}
	return min(replicas(p.newRS)+maxTotal-cur, p.want())
}

// scaleDownOld removes old pods without dropping below want-maxUnavailable available: first
// the old pods that are not available anyway, then available ones.
func (p *pass) scaleDownOld(ctx context.Context) error {
	if sumReplicas(p.old) == 0 {
		return nil
	}
	minAvailable := p.want() - p.maxUnavailable()
	newUnavailable := replicas(p.newRS) - available(p.newRS)
	budget := sumReplicas(p.old) + replicas(p.newRS) - minAvailable - newUnavailable
	for _, rs := range p.old {
		if budget <= 0 {
			break
		}
		if unhealthy := replicas(rs) - available(rs); unhealthy > 0 {
			down := min(unhealthy, budget)
			if err := p.scaleRS(ctx, rs, replicas(rs)-down); err != nil {
				return err
			}
			budget -= down
		}
	}
	if p.scaled {
		return nil
	}
	avail := available(p.newRS)
	for _, rs := range p.old {
		avail += available(rs)
	}
	budget = avail - minAvailable
	for _, rs := range p.old {
		if budget <= 0 {
			break
		}
		down := min(replicas(rs), budget)
		if down == 0 {
			continue
		}
		if err := p.scaleRS(ctx, rs, replicas(rs)-down); err != nil {
			return err
		}
		budget -= down
	}
	return nil
}

// recreate scales every old ReplicaSet to zero, waits for their pods to go, then scales up the
// new one.
func (p *pass) recreate(ctx context.Context) error {
	for _, rs := range p.old {
		if replicas(rs) > 0 {
			if err := p.scaleRS(ctx, rs, 0); err != nil {
				return err
			}
		}
	}
	if p.scaled {
		return nil
	}
	for _, rs := range p.old {
		if rs.Status.Replicas > 0 {
			return nil // old pods still running; their status update brings us back
		}
	}
	if p.newRS == nil {
		rs, err := p.createNewRS(ctx, p.maxRevision()+1, p.want())
		if err != nil {
			return err
		}
		p.newRS = rs
		return p.setDeploymentRevision(ctx, rs.Annotations[RevisionAnnotation])
	}
	if err := p.scaleRS(ctx, p.newRS, p.want()); err != nil || p.scaled {
		return err
	}
	return p.cleanup(ctx)
}

// isScalingEvent: an active ReplicaSet was sized for another replica count.
func (p *pass) isScalingEvent() bool {
	for _, rs := range p.all {
		if replicas(rs) == 0 {
			continue
		}
		if v, ok := rs.Annotations[DesiredReplicasAnnotation]; ok && v != strconv.Itoa(int(p.want())) {
			return true
		}
	}
	return false
}

// scale resizes for a changed replica count (or while paused): the one active ReplicaSet takes
// it all; with several active, the change is spread in proportion to their sizes.
func (p *pass) scale(ctx context.Context) error {
	var active []*appsv1.ReplicaSet
	for _, rs := range p.all {
		if replicas(rs) > 0 {
			active = append(active, rs)
		}
	}
	switch {
	case len(active) == 0:
		latest := p.newRS
		if latest == nil && len(p.old) > 0 {
			latest = p.old[len(p.old)-1]
		}
		if latest == nil {
			return nil
		}
		return p.scaleRS(ctx, latest, p.want())
	case len(active) == 1:
		return p.scaleRS(ctx, active[0], p.want())
	case p.newRS != nil && replicas(p.newRS) == p.want() && p.newRS.Status.AvailableReplicas >= p.want():
		for _, rs := range p.old {
			if err := p.scaleRS(ctx, rs, 0); err != nil {
				return err
			}
		}
		return nil
	}
	return p.scaleProportionally(ctx, active)
}

// scaleProportionally resizes each active ReplicaSet by the ratio of the new allowed size
// (want+maxSurge) to the one it was last sized for (its max-replicas annotation), within the
// total to add; the rounding leftover goes to the largest (newest on ties). Each ReplicaSet's
// share depends only on its own annotation, so a pass cut short by an error resumes correctly.
func (p *pass) scaleProportionally(ctx context.Context, active []*appsv1.ReplicaSet) error {
	sort.SliceStable(active, func(i, j int) bool {
		if replicas(active[i]) != replicas(active[j]) {
			return replicas(active[i]) > replicas(active[j])
		}
		return active[j].CreationTimestamp.Before(&active[i].CreationTimestamp)
	})
	current := make([]int32, len(active))
	before := make([]int32, len(active))
	for i, rs := range active {
		current[i] = replicas(rs)
		n, err := strconv.Atoi(rs.Annotations[MaxReplicasAnnotation])
		if err != nil || n <= 0 {
			n = int(p.d.Status.Replicas)
		}
		before[i] = int32(n)
	}
	sizes := proportionalSizes(current, before, p.want()+p.maxSurge())
	for i, rs := range active {
		if err := p.scaleRS(ctx, rs, max(sizes[i], 0)); err != nil {
			return err
		}
	}
	return nil
}

// proportionalSizes gives each of sizes (largest first) round(size*allowed/before[i]), without
// adding more in total than allowed-sum(sizes); the leftover goes to the first.
func proportionalSizes(sizes, before []int32, allowed int32) []int32 {
	var total int32
	for _, s := range sizes {
		total += s
	}
	toAdd := allowed - total
	out := make([]int32, len(sizes))
	var added int32
	for i, s := range sizes {
		frac := int32(0)
		if before[i] > 0 && toAdd != 0 {
			frac = int32(math.Round(float64(s)*float64(allowed)/float64(before[i]))) - s
		}
		if toAdd > 0 {
			frac = max(min(frac, toAdd-added), 0)
		} else {
			frac = min(max(frac, toAdd-added), 0)
		}
		out[i] = s + frac
		added += frac
	}
	if len(out) > 0 {
		out[0] += toAdd - added
	}
	return out
}
