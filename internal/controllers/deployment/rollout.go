package deployment

import (
	"context"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// pass is one reconcile of one Deployment.
type pass struct {
	c          *Controller
	d          *appsv1.Deployment
	all        []*appsv1.ReplicaSet // every ReplicaSet d controls
	newRS      *appsv1.ReplicaSet   // the one with d's template, if any
	old        []*appsv1.ReplicaSet // the others, oldest first
	createdNew bool
	scaled     bool
}

func (p *pass) run(ctx context.Context) error {
	p.split()
	err := p.syncRevision(ctx)
	if err == nil {
		switch {
		case p.d.Spec.Paused || p.isScalingEvent():
			err = p.scale(ctx)
			if err == nil && p.d.Spec.Paused && !p.scaled {
				err = p.cleanup(ctx)
			}
		case p.d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType:
			err = p.recreate(ctx)
		default:
			err = p.rolling(ctx)
		}
	}
	return p.syncStatus(ctx, err)
}

// split finds the new ReplicaSet and sorts the old ones oldest first.
func (p *pass) split() {
	sort.Slice(p.all, func(i, j int) bool {
		a, b := p.all[i], p.all[j]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	})
	for _, rs := range p.all {
		if p.newRS == nil && sameTemplate(&rs.Spec.Template, &p.d.Spec.Template) {
			p.newRS = rs
			continue
		}
		p.old = append(p.old, rs)
	}
}

func (p *pass) maxRevision() int64 {
	var m int64
	for _, rs := range p.old {
		m = max(m, revision(rs))
	}
	return m
}

// syncRevision gives the new ReplicaSet the next revision when it is not the newest (after an
// undo) and copies it, with d's user annotations, onto the Deployment and the ReplicaSet.
func (p *pass) syncRevision(ctx context.Context) error {
	if p.newRS == nil {
		return nil
	}
	rev := strconv.FormatInt(p.maxRevision()+1, 10)
	if revision(p.newRS) >= p.maxRevision()+1 {
		rev = p.newRS.Annotations[RevisionAnnotation]
	}
	ann := copyAnnotations(p.d, p.newRS.Annotations)
	ann[RevisionAnnotation] = rev
	if !mapsEqual(ann, p.newRS.Annotations) {
		next := p.newRS.DeepCopy()
		next.Annotations = ann
		updated, err := p.c.cfg.Client.AppsV1().ReplicaSets(next.Namespace).Update(ctx, next, metav1.UpdateOptions{})
		if err != nil {
			return err
		}
		p.newRS = updated
	}
	return p.setDeploymentRevision(ctx, rev)
}

func (p *pass) setDeploymentRevision(ctx context.Context, rev string) error {
	if p.d.Annotations[RevisionAnnotation] == rev {
		return nil
	}
	next := p.d.DeepCopy()
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	next.Annotations[RevisionAnnotation] = rev
	updated, err := p.c.cfg.Client.AppsV1().Deployments(next.Namespace).Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return err
	}
	p.d = updated
	return nil
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func (p *pass) want() int32 { return *p.d.Spec.Replicas }

// maxSurge and maxUnavailable resolve the rolling update parameters (Recreate: 0 and all).
func (p *pass) maxSurge() int32 {
	ru := p.d.Spec.Strategy.RollingUpdate
	if p.d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType || ru == nil {
		return 0
	}
	surge, _ := intstr.GetScaledValueFromIntOrPercent(intOr(ru.MaxSurge, "25%"), int(p.want()), true)
	return int32(surge)
}

func (p *pass) maxUnavailable() int32 {
	ru := p.d.Spec.Strategy.RollingUpdate
	if p.d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType || ru == nil {
		return p.want()
	}
	u, _ := intstr.GetScaledValueFromIntOrPercent(intOr(ru.MaxUnavailable, "25%"), int(p.want()), false)
	if u == 0 && p.maxSurge() == 0 {
		u = 1
	}
	return min(int32(u), p.want())
}

func intOr(v *intstr.IntOrString, def string) *intstr.IntOrString {
	if v == nil {
		d := intstr.FromString(def)
		return &d
	}
	return v
}

func sumReplicas(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		n += replicas(rs)
	}
	return n
}

// available counts a ReplicaSet's available pods, capped at its spec (status may lag a scale down).
func available(rs *appsv1.ReplicaSet) int32 {
	if rs == nil {
		return 0
	}
	return min(rs.Status.AvailableReplicas, replicas(rs))
}
