package statefulset

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/klite/klite/internal/controller"
)

// revision is one ControllerRevision of a set and the template it records.
type revision struct {
	name     string
	number   int64
	template corev1.PodTemplateSpec
	obj      *appsv1.ControllerRevision
}

// revisionData is what a ControllerRevision holds: the template as a replacing patch, which
// `kubectl rollout undo` applies.
func revisionData(t *corev1.PodTemplateSpec) ([]byte, error) {
	var m map[string]any
	b, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m["$patch"] = "replace"
	return json.Marshal(map[string]any{"spec": map[string]any{"template": m}})
}

func decodeRevision(cr *appsv1.ControllerRevision) (revision, bool) {
	var d struct {
		Spec struct {
			Template corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(cr.Data.Raw, &d); err != nil {
		return revision{}, false
	}
	return revision{name: cr.Name, number: cr.Revision, template: d.Spec.Template, obj: cr}, true
}

// revisions returns the set's revisions by name and the one for its current template,
// creating that one when missing (or bumping an old one back to the newest number).
func (p *pass) revisions(ctx context.Context) (map[string]revision, revision, error) {
	crs, err := p.c.revs.ControllerRevisions(p.set.Namespace).List(labels.Everything())
	if err != nil {
		return nil, revision{}, err
	}
	byName := map[string]revision{}
	var maxRev int64
	var match *revision
	for _, cr := range crs {
		if !metav1.IsControlledBy(cr, p.set) {
			continue
		}
		r, ok := decodeRevision(cr)
		if !ok {
			continue
		}
		byName[r.name] = r
		maxRev = max(maxRev, r.number)
		if equality.Semantic.DeepEqual(r.template, p.set.Spec.Template) && (match == nil || r.number > match.number) {
			m := r
			match = &m
		}
	}
	if match != nil {
		if match.number < maxRev {
			next := match.obj.DeepCopy()
			next.Revision = maxRev + 1
			if _, err := p.c.cfg.Client.AppsV1().ControllerRevisions(next.Namespace).Update(ctx, next, metav1.UpdateOptions{}); err != nil {
				return nil, revision{}, err
			}
			match.number = maxRev + 1
			byName[match.name] = *match
		}
		return byName, *match, nil
	}
	r, err := p.createRevision(ctx, maxRev+1)
	if err != nil {
		return nil, revision{}, err
	}
	byName[r.name] = r
	return byName, r, nil
}

func (p *pass) createRevision(ctx context.Context, number int64) (revision, error) {
	data, err := revisionData(&p.set.Spec.Template)
	if err != nil {
		return revision{}, err
	}
	h := fnv.New32a()
	h.Write(data)
	if p.set.Status.CollisionCount != nil {
		fmt.Fprint(h, *p.set.Status.CollisionCount)
	}
	cr := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name: p.set.Name + "-" + rand.SafeEncodeString(fmt.Sprint(h.Sum32())), Namespace: p.set.Namespace,
			Labels:          p.set.Spec.Selector.MatchLabels,
			OwnerReferences: []metav1.OwnerReference{controller.OwnerOf(p.set, "apps/v1", "StatefulSet").Ref()},
		},
		Data:     runtime.RawExtension{Raw: data},
		Revision: number,
	}
	created, err := p.c.cfg.Client.AppsV1().ControllerRevisions(cr.Namespace).Create(ctx, cr, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		n := int32(1)
		if p.set.Status.CollisionCount != nil {
			n = *p.set.Status.CollisionCount + 1
		}
		p.set.Status.CollisionCount = &n
		_, _ = p.c.cfg.Client.AppsV1().StatefulSets(p.set.Namespace).UpdateStatus(ctx, p.set, metav1.UpdateOptions{})
		return revision{}, fmt.Errorf("revision name %s taken; collision count now %d", cr.Name, n)
	}
	if err != nil {
		return revision{}, err
	}
	r, _ := decodeRevision(created)
	return r, nil
}

// pruneRevisions deletes the oldest revisions no pod uses beyond revisionHistoryLimit.
func (p *pass) pruneRevisions(ctx context.Context, revs map[string]revision, keep ...string) error {
	limit := 10
	if p.set.Spec.RevisionHistoryLimit != nil {
		limit = int(*p.set.Spec.RevisionHistoryLimit)
	}
	used := map[string]bool{}
	for _, k := range keep {
		used[k] = true
	}
	for _, pod := range p.pods {
		used[pod.Labels[appsv1.ControllerRevisionHashLabelKey]] = true
	}
	var idle []revision
	for _, r := range revs {
		if !used[r.name] {
			idle = append(idle, r)
		}
	}
	if len(idle) <= limit {
		return nil
	}
	sort.Slice(idle, func(i, j int) bool { return idle[i].number < idle[j].number })
	for _, r := range idle[:len(idle)-limit] {
		err := p.c.cfg.Client.AppsV1().ControllerRevisions(p.set.Namespace).Delete(ctx, r.name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}
