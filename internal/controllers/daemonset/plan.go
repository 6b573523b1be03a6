package daemonset

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/klog/v2"

	"github.com/klite/klite/internal/controller"
)

// HashLabel carries the template hash on each pod.
const HashLabel = appsv1.DefaultDaemonSetUniqueLabelKey

// defaultTolerations are added to every DaemonSet pod, as upstream does.
var defaultTolerations = []corev1.Toleration{
	{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
	{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
	{Key: corev1.TaintNodeDiskPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodeMemoryPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodePIDPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodeUnschedulable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
}

// plan is what a DaemonSet should do on each node.
type plan struct {
	hash       string
	want       []string                 // eligible nodes, sorted
	byNode     map[string][]*corev1.Pod // active pods per node, oldest first
	misplaced  []*corev1.Pod            // on nodes that are not eligible
	failed     []*corev1.Pod
	minReady   int32
	maxUnavail int
}

func templateHash(t *corev1.PodTemplateSpec) string {
	h := fnv.New32a()
	b, _ := json.Marshal(t)
	h.Write(b)
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

func newPlan(ds *appsv1.DaemonSet, nodes []*corev1.Node, pods []*corev1.Pod) *plan {
	p := &plan{hash: templateHash(&ds.Spec.Template), byNode: map[string][]*corev1.Pod{}, minReady: ds.Spec.MinReadySeconds}
	eligible := map[string]bool{}
	for _, n := range nodes {
		if shouldRun(ds, n) {
			p.want = append(p.want, n.Name)
			eligible[n.Name] = true
		}
	}
	sort.Strings(p.want)
	sort.Slice(pods, func(i, j int) bool { return pods[i].CreationTimestamp.Before(&pods[j].CreationTimestamp) })
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil {
			continue
		}
		if pod.Status.Phase == corev1.PodFailed {
			p.failed = append(p.failed, pod)
			continue
		}
		node := podNode(pod)
		if eligible[node] {
			p.byNode[node] = append(p.byNode[node], pod)
		} else {
			p.misplaced = append(p.misplaced, pod)
		}
	}
	p.maxUnavail = 1
	if ru := ds.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.MaxUnavailable != nil {
		v, _ := intstr.GetScaledValueFromIntOrPercent(ru.MaxUnavailable, len(p.want), true)
		p.maxUnavail = max(v, 1)
	}
	return p
}

// shouldRun: the node's labels, affinity and taints admit the DaemonSet's pods.
func shouldRun(ds *appsv1.DaemonSet, n *corev1.Node) bool {
	spec := &ds.Spec.Template.Spec
	if !labels.SelectorFromSet(spec.NodeSelector).Matches(labels.Set(n.Labels)) {
		return false
	}
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		if !matchesNodeSelector(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution, n) {
			return false
		}
	}
	tols := append(append([]corev1.Toleration(nil), spec.Tolerations...), defaultTolerations...)
	for i := range n.Spec.Taints {
		t := &n.Spec.Taints[i]
		if t.Effect == corev1.TaintEffectPreferNoSchedule {
			continue
		}
		if !tolerated(tols, t) {
			return false
		}
	}
	return true
}

func tolerated(tols []corev1.Toleration, t *corev1.Taint) bool {
	for i := range tols {
		if tols[i].ToleratesTaint(klog.Background(), t, false) {
			return true
		}
	}
	return false
}

// matchesNodeSelector evaluates required node affinity terms (ORed) on the node's labels and
// metadata.name field.
func matchesNodeSelector(ns *corev1.NodeSelector, n *corev1.Node) bool {
	for _, term := range ns.NodeSelectorTerms {
		if termMatches(term, n) {
			return true
		}
	}
	return false
}

func termMatches(term corev1.NodeSelectorTerm, n *corev1.Node) bool {
	if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
		return false
	}
	for _, e := range term.MatchExpressions {
		if !requirementMatches(e, n.Labels) {
			return false
		}
	}
	for _, e := range term.MatchFields {
		if e.Key != "metadata.name" || !requirementMatches(e, map[string]string{"metadata.name": n.Name}) {
			return false
		}
	}
	return true
}

func requirementMatches(e corev1.NodeSelectorRequirement, set map[string]string) bool {
	v, has := set[e.Key]
	switch e.Operator {
	case corev1.NodeSelectorOpIn:
		return has && contains(e.Values, v)
	case corev1.NodeSelectorOpNotIn:
		return !has || !contains(e.Values, v)
	case corev1.NodeSelectorOpExists:
		return has
	case corev1.NodeSelectorOpDoesNotExist:
		return !has
	}
	return false // Gt/Lt: not supported here
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// podNode is the node a DaemonSet pod is bound or pinned to.
func podNode(pod *corev1.Pod) string {
	if pod.Spec.NodeName != "" {
		return pod.Spec.NodeName
	}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		for _, t := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			for _, f := range t.MatchFields {
				if f.Key == "metadata.name" && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
					return f.Values[0]
				}
			}
		}
	}
	return ""
}

func available(pod *corev1.Pod, minReady int32) bool {
	return controller.IsPodAvailable(pod, minReady, metav1.Now())
}
