package helper

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNodeSelectorTermOperators(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"zone": "a", "cores": "16"}}}
	r := func(key string, op corev1.NodeSelectorOperator, v ...string) corev1.NodeSelectorRequirement {
		return corev1.NodeSelectorRequirement{Key: key, Operator: op, Values: v}
	}
	tests := []struct {
		name string
		term corev1.NodeSelectorTerm
		want bool
	}{
		{"In", corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{r("zone", corev1.NodeSelectorOpIn, "a", "b")}}, true},
		{"NotIn", corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{r("zone", corev1.NodeSelectorOpNotIn, "a")}}, false},
		{"Exists", corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{r("cores", corev1.NodeSelectorOpExists)}}, true},
		{"DoesNotExist", corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{r("gpu", corev1.NodeSelectorOpDoesNotExist)}}, true},
		{"Gt", corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{r("cores", corev1.NodeSelectorOpGt, "8")}}, true},
		{"Lt", corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{r("cores", corev1.NodeSelectorOpLt, "8")}}, false},
		{"matchFields In", corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{r("metadata.name", corev1.NodeSelectorOpIn, "n0", "n1")}}, true},
		{"matchFields NotIn", corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{r("metadata.name", corev1.NodeSelectorOpNotIn, "n1")}}, false},
		{"empty term matches nothing", corev1.NodeSelectorTerm{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			term, err := ParseNodeSelectorTerm(&tc.term)
			if err != nil {
				t.Fatal(err)
			}
			if got := term.Matches(node); got != tc.want {
				t.Fatalf("Matches = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDefaultNormalizeScore(t *testing.T) {
	s := []int64{0, 5, 10}
	DefaultNormalizeScore(100, false, s)
	if s[0] != 0 || s[1] != 50 || s[2] != 100 {
		t.Fatalf("normal: %v", s)
	}
	s = []int64{0, 5, 10}
	DefaultNormalizeScore(100, true, s)
	if s[0] != 100 || s[1] != 50 || s[2] != 0 {
		t.Fatalf("reversed: %v", s)
	}
}
