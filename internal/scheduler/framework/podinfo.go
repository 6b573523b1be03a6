package framework

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/sets"
)

// PodInfo is a pod with what the plugins need precomputed once.
type PodInfo struct {
	Pod                   *corev1.Pod
	Requests              Resource
	NonZeroRequests       Resource
	RequiredAffinity      []AffinityTerm
	RequiredAntiAffinity  []AffinityTerm
	PreferredAffinity     []WeightedAffinityTerm
	PreferredAntiAffinity []WeightedAffinityTerm
	// ParseErr is set when one of the pod's affinity selectors is invalid.
	ParseErr error
}

// AffinityTerm is a parsed PodAffinityTerm.
type AffinityTerm struct {
	Namespaces        sets.Set[string]
	NamespaceSelector labels.Selector // nil: only Namespaces; Everything(): all namespaces
	Selector          labels.Selector
	TopologyKey       string
}

// WeightedAffinityTerm is a preferred term with its weight.
type WeightedAffinityTerm struct {
	AffinityTerm
	Weight int32
}

// NewPodInfo parses pod's requests and affinity terms.
func NewPodInfo(pod *corev1.Pod) *PodInfo {
	pi := &PodInfo{Pod: pod}
	pi.Requests, pi.NonZeroRequests = PodRequests(pod)
	a := pod.Spec.Affinity
	if a == nil {
		return pi
	}
	if pa := a.PodAffinity; pa != nil {
		pi.RequiredAffinity = pi.terms(pa.RequiredDuringSchedulingIgnoredDuringExecution)
		pi.PreferredAffinity = pi.weighted(pa.PreferredDuringSchedulingIgnoredDuringExecution)
	}
	if pa := a.PodAntiAffinity; pa != nil {
		pi.RequiredAntiAffinity = pi.terms(pa.RequiredDuringSchedulingIgnoredDuringExecution)
		pi.PreferredAntiAffinity = pi.weighted(pa.PreferredDuringSchedulingIgnoredDuringExecution)
	}
	return pi
}

func (pi *PodInfo) terms(in []corev1.PodAffinityTerm) []AffinityTerm {
	var out []AffinityTerm
	for i := range in {
		t, err := NewAffinityTerm(pi.Pod, &in[i])
		if err != nil {
			pi.ParseErr = err
			continue
		}
		out = append(out, t)
	}
	return out
}

func (pi *PodInfo) weighted(in []corev1.WeightedPodAffinityTerm) []WeightedAffinityTerm {
	var out []WeightedAffinityTerm
	for i := range in {
		t, err := NewAffinityTerm(pi.Pod, &in[i].PodAffinityTerm)
		if err != nil {
			pi.ParseErr = err
			continue
		}
		out = append(out, WeightedAffinityTerm{AffinityTerm: t, Weight: in[i].Weight})
	}
	return out
}

// NewAffinityTerm parses a term of pod's, merging matchLabelKeys and mismatchLabelKeys with the
// pod's own label values, and defaulting the namespaces to the pod's own.
func NewAffinityTerm(pod *corev1.Pod, t *corev1.PodAffinityTerm) (AffinityTerm, error) {
	sel, err := metav1.LabelSelectorAsSelector(t.LabelSelector)
	if err != nil {
		return AffinityTerm{}, fmt.Errorf("pod %s/%s affinity selector: %w", pod.Namespace, pod.Name, err)
	}
	if t.LabelSelector == nil {
		sel = labels.Nothing()
	}
	sel = addLabelKeys(sel, pod.Labels, t.MatchLabelKeys, selection.In)
	sel = addLabelKeys(sel, pod.Labels, t.MismatchLabelKeys, selection.NotIn)
	at := AffinityTerm{Namespaces: sets.New(t.Namespaces...), Selector: sel, TopologyKey: t.TopologyKey}
	if t.NamespaceSelector != nil {
		if at.NamespaceSelector, err = metav1.LabelSelectorAsSelector(t.NamespaceSelector); err != nil {
			return AffinityTerm{}, fmt.Errorf("pod %s/%s namespace selector: %w", pod.Namespace, pod.Name, err)
		}
	}
	if len(t.Namespaces) == 0 && t.NamespaceSelector == nil {
		at.Namespaces.Insert(pod.Namespace)
	}
	return at, nil
}

func addLabelKeys(sel labels.Selector, podLabels map[string]string, keys []string, op selection.Operator) labels.Selector {
	for _, k := range keys {
		v, ok := podLabels[k]
		if !ok {
			continue
		}
		if r, err := labels.NewRequirement(k, op, []string{v}); err == nil {
			sel = sel.Add(*r)
		}
	}
	return sel
}

// Matches reports whether pod is selected by the term; nsLabels are the labels of pod's namespace
// (only needed when the term has a namespace selector).
func (t *AffinityTerm) Matches(pod *corev1.Pod, nsLabels labels.Set) bool {
	if !t.Namespaces.Has(pod.Namespace) && (t.NamespaceSelector == nil || !t.NamespaceSelector.Matches(nsLabels)) {
		return false
	}
	return t.Selector.Matches(labels.Set(pod.Labels))
}
