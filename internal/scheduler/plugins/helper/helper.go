// Package helper holds the small pieces several scheduler plugins share: score normalisation and
// node selector matching.
package helper

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// DefaultNormalizeScore scales scores so the highest becomes maxPriority; with reverse the
// highest becomes 0 and zero becomes maxPriority.
func DefaultNormalizeScore(maxPriority int64, reverse bool, scores []int64) {
	var highest int64
	for _, s := range scores {
		highest = max(highest, s)
	}
	if highest == 0 {
		if reverse {
			for i := range scores {
				scores[i] = maxPriority
			}
		}
		return
	}
	for i, s := range scores {
		s = maxPriority * s / highest
		if reverse {
			s = maxPriority - s
		}
		scores[i] = s
	}
}

// NodeSelectorTerm is a parsed NodeSelectorTerm: label and field requirements, ANDed.
type NodeSelectorTerm struct {
	Labels labels.Selector
	Fields fields.Selector
}

// Matches reports whether node satisfies the term.
func (t NodeSelectorTerm) Matches(node *corev1.Node) bool {
	return t.Labels.Matches(labels.Set(node.Labels)) && (t.Fields == nil || t.Fields.Matches(fields.Set{"metadata.name": node.Name}))
}

// ParseNodeSelectorTerm converts a term; an empty term matches nothing, as upstream.
func ParseNodeSelectorTerm(t *corev1.NodeSelectorTerm) (NodeSelectorTerm, error) {
	if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
		return NodeSelectorTerm{Labels: labels.Nothing()}, nil
	}
	sel := labels.NewSelector()
	for _, e := range t.MatchExpressions {
		r, err := requirement(e)
		if err != nil {
			return NodeSelectorTerm{}, err
		}
		sel = sel.Add(*r)
	}
	out := NodeSelectorTerm{Labels: sel}
	var fs []fields.Selector
	for _, e := range t.MatchFields {
		if e.Key != "metadata.name" {
			return NodeSelectorTerm{}, fmt.Errorf("unsupported field selector %q", e.Key)
		}
		switch e.Operator {
		case corev1.NodeSelectorOpIn:
			fs = append(fs, anyName(e.Values))
		case corev1.NodeSelectorOpNotIn:
			for _, v := range e.Values {
				fs = append(fs, fields.OneTermNotEqualSelector("metadata.name", v))
			}
		default:
			return NodeSelectorTerm{}, fmt.Errorf("unsupported field operator %q", e.Operator)
		}
	}
	if len(fs) > 0 {
		out.Fields = fields.AndSelectors(fs...)
	}
	return out, nil
}

// anyName matches metadata.name against a set of names.
type anyName []string

func (a anyName) Matches(f fields.Fields) bool {
	for _, v := range a {
		if f.Get("metadata.name") == v {
			return true
		}
	}
	return false
}
func (a anyName) Empty() bool                                             { return false }
func (a anyName) RequiresExactMatch(string) (string, bool)                { return "", false }
func (a anyName) Transform(fields.TransformFunc) (fields.Selector, error) { return a, nil }
func (a anyName) Requirements() fields.Requirements                       { return nil }
func (a anyName) String() string                                          { return fmt.Sprintf("metadata.name in %v", []string(a)) }
func (a anyName) DeepCopySelector() fields.Selector                       { return append(anyName(nil), a...) }

func requirement(e corev1.NodeSelectorRequirement) (*labels.Requirement, error) {
	ops := map[corev1.NodeSelectorOperator]selection.Operator{
		corev1.NodeSelectorOpIn: selection.In, corev1.NodeSelectorOpNotIn: selection.NotIn,
		corev1.NodeSelectorOpExists: selection.Exists, corev1.NodeSelectorOpDoesNotExist: selection.DoesNotExist,
		corev1.NodeSelectorOpGt: selection.GreaterThan, corev1.NodeSelectorOpLt: selection.LessThan,
	}
	op, ok := ops[e.Operator]
	if !ok {
		return nil, fmt.Errorf("unknown node selector operator %q", e.Operator)
	}
	return labels.NewRequirement(e.Key, op, e.Values)
}

// NodeSelector is a parsed required node selector: terms ORed.
type NodeSelector []NodeSelectorTerm

// ParseNodeSelector converts a NodeSelector.
func ParseNodeSelector(ns *corev1.NodeSelector) (NodeSelector, error) {
	var out NodeSelector
	for i := range ns.NodeSelectorTerms {
		t, err := ParseNodeSelectorTerm(&ns.NodeSelectorTerms[i])
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// Matches reports whether any term matches node.
func (s NodeSelector) Matches(node *corev1.Node) bool {
	for _, t := range s {
		if t.Matches(node) {
			return true
		}
	}
	return false
}
