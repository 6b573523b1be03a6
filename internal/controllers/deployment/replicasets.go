package deployment

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/klite/klite/internal/controller"
)

// Annotations the controller keeps on Deployments and their ReplicaSets.
const (
	RevisionAnnotation        = "deployment.kubernetes.io/revision"
	DesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
	MaxReplicasAnnotation     = "deployment.kubernetes.io/max-replicas"
	HashLabel                 = appsv1.DefaultDeploymentUniqueLabelKey
)

// notCopied are Deployment annotations that do not go onto its ReplicaSets.
var notCopied = map[string]bool{
	"kubectl.kubernetes.io/last-applied-configuration": true, RevisionAnnotation: true,
	DesiredReplicasAnnotation: true, MaxReplicasAnnotation: true, "deployment.kubernetes.io/revision-history": true,
}

// templateHash names a pod template (and the collision count, to step past a clash).
func templateHash(t *corev1.PodTemplateSpec, collisions *int32) string {
	h := fnv.New32a()
	b, _ := json.Marshal(t)
	h.Write(b)
	if collisions != nil {
		fmt.Fprint(h, *collisions)
	}
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// sameTemplate compares a ReplicaSet's template with the Deployment's, ignoring the hash label.
func sameTemplate(rs, d *corev1.PodTemplateSpec) bool {
	a, b := rs.DeepCopy(), d.DeepCopy()
	delete(a.Labels, HashLabel)
	delete(b.Labels, HashLabel)
	if len(a.Labels) == 0 {
		a.Labels = nil
	}
	if len(b.Labels) == 0 {
		b.Labels = nil
	}
	return equality.Semantic.DeepEqual(a, b)
}

func revision(rs *appsv1.ReplicaSet) int64 {
	n, _ := strconv.ParseInt(rs.Annotations[RevisionAnnotation], 10, 64)
	return n
}

func replicas(rs *appsv1.ReplicaSet) int32 {
	if rs == nil || rs.Spec.Replicas == nil {
		return 0
	}
	return *rs.Spec.Replicas
}

// newReplicaSet builds the ReplicaSet for d's current template.
func newReplicaSet(d *appsv1.Deployment, rev int64, size, maxSurge int32) *appsv1.ReplicaSet {
	hash := templateHash(&d.Spec.Template, d.Status.CollisionCount)
	tmpl := d.Spec.Template.DeepCopy()
	tmpl.Labels = withLabel(tmpl.Labels, hash)
	sel := d.Spec.Selector.DeepCopy()
	sel.MatchLabels = withLabel(sel.MatchLabels, hash)
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: d.Name + "-" + hash, Namespace: d.Namespace, Labels: withLabel(d.Spec.Template.Labels, hash),
			Annotations:     copyAnnotations(d, nil),
			OwnerReferences: []metav1.OwnerReference{controller.OwnerOf(d, "apps/v1", "Deployment").Ref()},
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: &size, MinReadySeconds: d.Spec.MinReadySeconds, Selector: sel, Template: *tmpl},
	}
	setSizeAnnotations(rs, d, maxSurge)
	rs.Annotations[RevisionAnnotation] = strconv.FormatInt(rev, 10)
	return rs
}

func withLabel(m map[string]string, hash string) map[string]string {
	out := map[string]string{HashLabel: hash}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// copyAnnotations returns into (or a new map) with d's user annotations (change-cause...).
func copyAnnotations(d *appsv1.Deployment, into map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range into {
		out[k] = v
	}
	for k, v := range d.Annotations {
		if !notCopied[k] {
			out[k] = v
		}
	}
	return out
}

func setSizeAnnotations(rs *appsv1.ReplicaSet, d *appsv1.Deployment, maxSurge int32) {
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	rs.Annotations[DesiredReplicasAnnotation] = strconv.Itoa(int(*d.Spec.Replicas))
	rs.Annotations[MaxReplicasAnnotation] = strconv.Itoa(int(*d.Spec.Replicas + maxSurge))
}

// createNewRS creates the ReplicaSet for the current template; on a name clash with another
// template it bumps status.collisionCount so the next pass picks another name.
func (p *pass) createNewRS(ctx context.Context, rev int64, size int32) (*appsv1.ReplicaSet, error) {
	rs := newReplicaSet(p.d, rev, size, p.maxSurge())
	created, err := p.c.cfg.Client.AppsV1().ReplicaSets(rs.Namespace).Create(ctx, rs, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		existing, gerr := p.c.rsl.ReplicaSets(rs.Namespace).Get(rs.Name)
		if gerr == nil && sameTemplate(&existing.Spec.Template, &p.d.Spec.Template) && metav1.IsControlledBy(existing, p.d) {
			return existing, nil
		}
		n := int32(1)
		if p.d.Status.CollisionCount != nil {
			n = *p.d.Status.CollisionCount + 1
		}
		p.d.Status.CollisionCount = &n
		if _, uerr := p.c.cfg.Client.AppsV1().Deployments(p.d.Namespace).UpdateStatus(ctx, p.d, metav1.UpdateOptions{}); uerr != nil {
			return nil, uerr
		}
		return nil, fmt.Errorf("replica set name %s taken by another template (collision count now %d)", rs.Name, n)
	}
	if err != nil {
		p.c.cfg.Recorder.Eventf(p.d, corev1.EventTypeWarning, "FailedCreate", "Failed to create new replica set %q: %v", rs.Name, err)
		return nil, err
	}
	p.c.cfg.Recorder.Eventf(p.d, corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled up replica set %s from 0 to %d", created.Name, size)
	p.createdNew = true
	return created, nil
}

// scaleRS sets rs's replicas (and its size annotations) and records the event.
func (p *pass) scaleRS(ctx context.Context, rs *appsv1.ReplicaSet, size int32) error {
	from := replicas(rs)
	next := rs.DeepCopy()
	next.Spec.Replicas = &size
	setSizeAnnotations(next, p.d, p.maxSurge())
	if from == size && equality.Semantic.DeepEqual(next.Annotations, rs.Annotations) {
		return nil
	}
	updated, err := p.c.cfg.Client.AppsV1().ReplicaSets(rs.Namespace).Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return err
	}
	*rs = *updated
	if from != size {
		dir := "up"
		if size < from {
			dir = "down"
		}
		p.scaled = true
		p.c.cfg.Recorder.Eventf(p.d, corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d", dir, rs.Name, from, size)
	}
	return nil
}

// cleanup deletes the oldest fully scaled-down ReplicaSets beyond revisionHistoryLimit.
func (p *pass) cleanup(ctx context.Context) error {
	limit := int32(10)
	if p.d.Spec.RevisionHistoryLimit != nil {
		limit = *p.d.Spec.RevisionHistoryLimit
	}
	var idle []*appsv1.ReplicaSet
	for _, rs := range p.old {
		if replicas(rs) == 0 && rs.Status.Replicas == 0 && rs.DeletionTimestamp == nil {
			idle = append(idle, rs)
		}
	}
	if int32(len(idle)) <= limit {
		return nil
	}
	sort.Slice(idle, func(i, j int) bool { return revision(idle[i]) < revision(idle[j]) })
	for _, rs := range idle[:int32(len(idle))-limit] {
		err := p.c.cfg.Client.AppsV1().ReplicaSets(rs.Namespace).Delete(ctx, rs.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &rs.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}
