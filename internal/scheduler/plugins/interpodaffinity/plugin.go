// Package interpodaffinity is the InterPodAffinity filter and scorer: required pod affinity and
// anti-affinity (the incoming pod's, and existing pods' anti-affinity against it) over any
// topologyKey, and preferred terms as scores.
package interpodaffinity

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/klite/klite/internal/scheduler/framework"
)

// Name is the plugin's registry name.
const Name = "InterPodAffinity"

// Upstream's rejection messages.
const (
	ErrReasonExistingAntiAffinityRulesNotMatch = "node(s) didn't satisfy existing pods anti-affinity rules"
	ErrReasonAffinityRulesNotMatch             = "node(s) didn't match pod affinity rules"
	ErrReasonAntiAffinityRulesNotMatch         = "node(s) didn't match pod anti-affinity rules"
)

// hardPodAffinityWeight is what an existing pod's required affinity term matching the incoming
// pod adds to the score (upstream's default).
const hardPodAffinityWeight = 1

// InterPodAffinity implements the filter and the scorer.
type InterPodAffinity struct{ h framework.Handle }

var (
	_ framework.PreFilterPlugin   = &InterPodAffinity{}
	_ framework.FilterPlugin      = &InterPodAffinity{}
	_ framework.PreScorePlugin    = &InterPodAffinity{}
	_ framework.ScorePlugin       = &InterPodAffinity{}
	_ framework.ScoreNormalizer   = &InterPodAffinity{}
	_ framework.EnqueueExtensions = &InterPodAffinity{}
)

// New returns the plugin.
func New(_ context.Context, _ json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	return &InterPodAffinity{h: h}, nil
}

// Name returns Name.
func (*InterPodAffinity) Name() string { return Name }

// EventsToRegister: pods come and go, node labels change.
func (*InterPodAffinity) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.Pod, Action: framework.All},
		{Resource: framework.Node, Action: framework.Add | framework.Update},
	}
}

// topologyPair is one topology domain.
type topologyPair struct{ key, value string }

type counts map[topologyPair]int64

func (c counts) addTerms(terms []framework.AffinityTerm, node *corev1.Node, delta int64) {
	for i := range terms {
		if v, ok := node.Labels[terms[i].TopologyKey]; ok {
			c[topologyPair{terms[i].TopologyKey, v}] += delta
		}
	}
}

// nsLabels returns the labels of a namespace, nil when unknown.
func (p *InterPodAffinity) nsLabels(ns string) labels.Set {
	if p.h == nil || p.h.Informers() == nil {
		return nil
	}
	n, err := p.h.Informers().Core().V1().Namespaces().Lister().Get(ns)
	if err != nil {
		return nil
	}
	return n.Labels
}

// resolveNamespaces turns namespace selectors of the incoming pod's terms into namespace sets.
func (p *InterPodAffinity) resolveNamespaces(terms []framework.AffinityTerm) []framework.AffinityTerm {
	out := make([]framework.AffinityTerm, len(terms))
	for i, t := range terms {
		out[i] = t
		if t.NamespaceSelector == nil || p.h == nil || p.h.Informers() == nil {
			continue
		}
		nss, err := p.h.Informers().Core().V1().Namespaces().Lister().List(t.NamespaceSelector)
		if err != nil {
			continue
		}
		out[i].Namespaces = t.Namespaces.Clone()
		for _, ns := range nss {
			out[i].Namespaces.Insert(ns.Name)
		}
		out[i].NamespaceSelector = nil
	}
	return out
}

func matchesAll(terms []framework.AffinityTerm, pod *corev1.Pod, ns labels.Set) bool {
	if len(terms) == 0 {
		return false
	}
	for i := range terms {
		if !terms[i].Matches(pod, ns) {
			return false
		}
	}
	return true
}

func keys(terms []framework.AffinityTerm) sets.Set[string] {
	s := sets.New[string]()
	for _, t := range terms {
		s.Insert(t.TopologyKey)
	}
	return s
}
