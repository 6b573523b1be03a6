package statefulset

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/controller"
)

// Pod labels the controller sets.
const (
	PodNameLabel  = appsv1.StatefulSetPodNameLabel
	PodIndexLabel = appsv1.PodIndexLabel
)

// pass is one reconcile of one StatefulSet.
type pass struct {
	c       *Controller
	set     *appsv1.StatefulSet
	pods    []*corev1.Pod
	revs    map[string]revision
	update  revision
	current revision
}

func (p *pass) run(ctx context.Context) error {
	revs, update, err := p.revisions(ctx)
	if err != nil {
		return err
	}
	p.revs, p.update, p.current = revs, update, update
	if cur, ok := revs[p.set.Status.CurrentRevision]; ok {
		p.current = cur
	}
	var actErr error
	if p.set.DeletionTimestamp == nil {
		actErr = p.act(ctx)
	}
	if err := p.writeStatus(ctx); err != nil {
		return err
	}
	if actErr != nil {
		return actErr
	}
	return p.pruneRevisions(ctx, revs, p.current.name, p.update.name)
}

func (p *pass) replicas() int {
	if p.set.Spec.Replicas == nil {
		return 1
	}
	return int(*p.set.Spec.Replicas)
}

func (p *pass) ordered() bool {
	return p.set.Spec.PodManagementPolicy != appsv1.ParallelPodManagement
}

func (p *pass) partition() int {
	ru := p.set.Spec.UpdateStrategy.RollingUpdate
	if p.set.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType || ru == nil || ru.Partition == nil {
		return 0
	}
	return int(*ru.Partition)
}

// ordinal parses <set>-<n>; -1 for a foreign name.
func (p *pass) ordinal(pod *corev1.Pod) int {
	suffix, ok := strings.CutPrefix(pod.Name, p.set.Name+"-")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(suffix)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

func runningAndReady(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodRunning && controller.IsPodReady(pod) && pod.DeletionTimestamp == nil
}

// act creates, deletes and updates pods; with OrderedReady it stops at the first pod that is
// not yet Running and Ready.
func (p *pass) act(ctx context.Context) error {
	byOrd := map[int]*corev1.Pod{}
	var condemned []*corev1.Pod
	for _, pod := range p.pods {
		switch ord := p.ordinal(pod); {
		case ord < 0:
		case ord >= p.replicas():
			condemned = append(condemned, pod)
		default:
			byOrd[ord] = pod
		}
	}
	for ord := 0; ord < p.replicas(); ord++ {
		pod := byOrd[ord]
		switch {
		case pod == nil:
			if err := p.createPod(ctx, ord); err != nil {
				return err
			}
			if p.ordered() {
				return nil
			}
		case pod.Status.Phase == corev1.PodFailed && pod.DeletionTimestamp == nil:
			if err := p.deletePod(ctx, pod); err != nil {
				return err
			}
			if p.ordered() {
				return nil
			}
		case !runningAndReady(pod) && p.ordered():
			return nil
		}
	}
	if done, err := p.scaleDown(ctx, condemned); err != nil || !done {
		return err
	}
	return p.rollOne(ctx, byOrd)
}

// scaleDown deletes the pods above the replica count, highest first (one at a time, waiting
// for each to go, with OrderedReady); done reports whether nothing is left to wait for.
func (p *pass) scaleDown(ctx context.Context, condemned []*corev1.Pod) (bool, error) {
	sort.Slice(condemned, func(i, j int) bool { return p.ordinal(condemned[i]) > p.ordinal(condemned[j]) })
	for _, pod := range condemned {
		if pod.DeletionTimestamp != nil {
			if p.ordered() {
				return false, nil
			}
			continue
		}
		if err := p.retainOnScaleDown(ctx, pod); err != nil {
			return false, err
		}
		if err := p.deletePod(ctx, pod); err != nil {
			return false, err
		}
		if p.ordered() {
			return false, nil
		}
	}
	return len(condemned) == 0, nil
}

// rollOne deletes the highest pod at or above the partition still on an old revision, once
// every pod is Running and Ready; it comes back at the update revision.
func (p *pass) rollOne(ctx context.Context, byOrd map[int]*corev1.Pod) error {
	if p.set.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return nil
	}
	for ord := 0; ord < p.replicas(); ord++ {
		if pod := byOrd[ord]; pod == nil || !runningAndReady(pod) {
			return nil
		}
	}
	for ord := p.replicas() - 1; ord >= p.partition(); ord-- {
		if pod := byOrd[ord]; pod.Labels[appsv1.ControllerRevisionHashLabelKey] != p.update.name {
			return p.deletePod(ctx, pod)
		}
	}
	return nil
}

// createPod creates ordinal's claims, then the pod at the revision its ordinal calls for.
func (p *pass) createPod(ctx context.Context, ord int) error {
	rev := p.update
	if ord < p.partition() {
		rev = p.current
	}
	pod := p.newPod(ord, rev)
	if err := p.createClaims(ctx, ord, pod); err != nil {
		return err
	}
	_, err := p.c.cfg.Client.CoreV1().Pods(p.set.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) || apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		return nil
	}
	if err != nil {
		p.c.cfg.Recorder.Eventf(p.set, corev1.EventTypeWarning, "FailedCreate", "create Pod %s in StatefulSet %s failed error: %v", pod.Name, p.set.Name, err)
		return err
	}
	p.c.cfg.Recorder.Eventf(p.set, corev1.EventTypeNormal, "SuccessfulCreate", "create Pod %s in StatefulSet %s successful", pod.Name, p.set.Name)
	return nil
}

func (p *pass) newPod(ord int, rev revision) *corev1.Pod {
	t := rev.template.DeepCopy()
	name := fmt.Sprintf("%s-%d", p.set.Name, ord)
	lbls := map[string]string{PodNameLabel: name, PodIndexLabel: strconv.Itoa(ord), appsv1.ControllerRevisionHashLabelKey: rev.name}
	for k, v := range t.Labels {
		lbls[k] = v
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: p.set.Namespace, Labels: lbls, Annotations: t.Annotations,
			OwnerReferences: []metav1.OwnerReference{controller.OwnerOf(p.set, "apps/v1", "StatefulSet").Ref()}},
		Spec: t.Spec,
	}
	pod.Spec.Hostname, pod.Spec.Subdomain = name, p.set.Spec.ServiceName
	for _, ct := range p.set.Spec.VolumeClaimTemplates {
		vol := corev1.Volume{Name: ct.Name, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claimName(ct.Name, p.set.Name, ord)}}}
		replaced := false
		for i := range pod.Spec.Volumes {
			if pod.Spec.Volumes[i].Name == ct.Name {
				pod.Spec.Volumes[i], replaced = vol, true
			}
		}
		if !replaced {
			pod.Spec.Volumes = append(pod.Spec.Volumes, vol)
		}
	}
	return pod
}

func (p *pass) deletePod(ctx context.Context, pod *corev1.Pod) error {
	err := p.c.cfg.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pod.UID}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err == nil {
		p.c.cfg.Recorder.Eventf(p.set, corev1.EventTypeNormal, "SuccessfulDelete", "delete Pod %s in StatefulSet %s successful", pod.Name, p.set.Name)
	}
	return err
}

// writeStatus computes the counts and revisions and writes them when changed.
func (p *pass) writeStatus(ctx context.Context) error {
	st := appsv1.StatefulSetStatus{ObservedGeneration: p.set.Generation, CollisionCount: p.set.Status.CollisionCount,
		CurrentRevision: p.current.name, UpdateRevision: p.update.name, Conditions: p.set.Status.Conditions}
	now := metav1.Now()
	for _, pod := range p.pods {
		if p.ordinal(pod) < 0 || pod.DeletionTimestamp != nil {
			continue
		}
		st.Replicas++
		if runningAndReady(pod) {
			st.ReadyReplicas++
			if controller.IsPodAvailable(pod, p.set.Spec.MinReadySeconds, now) {
				st.AvailableReplicas++
			}
		}
		if pod.Labels[appsv1.ControllerRevisionHashLabelKey] == p.current.name {
			st.CurrentReplicas++
		}
		if pod.Labels[appsv1.ControllerRevisionHashLabelKey] == p.update.name {
			st.UpdatedReplicas++
		}
	}
	// The rollout is done when every wanted pod is ready at the update revision.
	if int(st.UpdatedReplicas) >= p.replicas() && int(st.ReadyReplicas) >= p.replicas() && int(st.Replicas) == p.replicas() {
		st.CurrentRevision, st.CurrentReplicas = st.UpdateRevision, st.UpdatedReplicas
	}
	if equality.Semantic.DeepEqual(p.set.Status, st) {
		return nil
	}
	next := p.set.DeepCopy()
	next.Status = st
	_, err := p.c.cfg.Client.AppsV1().StatefulSets(next.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
