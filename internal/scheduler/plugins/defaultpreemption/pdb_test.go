package defaultpreemption

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/klite/klite/internal/scheduler/framework"
)

func victim(name string, prio int32, started int, labels map[string]string) *framework.PodInfo {
	start := metav1.NewTime(time.Unix(int64(started), 0))
	return framework.NewPodInfo(&corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID(name), Labels: labels},
		Spec:       corev1.PodSpec{Priority: &prio},
		Status:     corev1.PodStatus{StartTime: &start},
	})
}

func pdb(ns string, allowed int32, selector map[string]string, disrupted ...string) *policyv1.PodDisruptionBudget {
	p := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pdb"}}
	if selector != nil {
		p.Spec.Selector = &metav1.LabelSelector{MatchLabels: selector}
	}
	p.Status.DisruptionsAllowed = allowed
	p.Status.DisruptedPods = map[string]metav1.Time{}
	for _, d := range disrupted {
		p.Status.DisruptedPods[d] = metav1.Now()
	}
	return p
}

func names(pods []*framework.PodInfo) []string {
	out := []string{}
	for _, p := range pods {
		out = append(out, p.Pod.Name)
	}
	return out
}

func TestSplitByPDB(t *testing.T) {
	web := map[string]string{"app": "web"}
	pods := []*framework.PodInfo{victim("a", 1, 0, web), victim("b", 1, 0, web), victim("c", 1, 0, map[string]string{"app": "db"})}
	for _, tc := range []struct {
		name                  string
		pdbs                  []*policyv1.PodDisruptionBudget
		violating, nonViolate []string
	}{
		{"no budgets", nil, []string{}, []string{"a", "b", "c"}},
		{"none allowed", []*policyv1.PodDisruptionBudget{pdb("ns", 0, web)}, []string{"a", "b"}, []string{"c"}},
		{"one allowed: the second one violates", []*policyv1.PodDisruptionBudget{pdb("ns", 1, web)}, []string{"b"}, []string{"a", "c"}},
		{"already disrupted pods do not count", []*policyv1.PodDisruptionBudget{pdb("ns", 0, web, "a")}, []string{"b"}, []string{"a", "c"}},
		{"other namespace", []*policyv1.PodDisruptionBudget{pdb("other", 0, web)}, []string{}, []string{"a", "b", "c"}},
		{"empty selector matches nothing", []*policyv1.PodDisruptionBudget{pdb("ns", 0, map[string]string{})}, []string{}, []string{"a", "b", "c"}},
		{"nil selector matches nothing", []*policyv1.PodDisruptionBudget{pdb("ns", 0, nil)}, []string{}, []string{"a", "b", "c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, nv := splitByPDB(pods, tc.pdbs)
			if got, want := names(v), tc.violating; !equal(got, want) {
				t.Errorf("violating %v, want %v", got, want)
			}
			if got, want := names(nv), tc.nonViolate; !equal(got, want) {
				t.Errorf("non-violating %v, want %v", got, want)
			}
		})
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPickOneRanksAsUpstream(t *testing.T) {
	node := func(name string) *framework.NodeInfo {
		return framework.NewNodeInfo(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}})
	}
	cand := func(name string, violations int, victims ...*framework.PodInfo) candidate {
		return candidate{node: node(name), victims: victims, violations: violations}
	}
	for _, tc := range []struct {
		name  string
		cands []candidate
		want  string
	}{
		{"no victims wins outright", []candidate{cand("a", 0, victim("x", 1, 0, nil)), cand("b", 0)}, "b"},
		{"fewest budget violations before priority", []candidate{cand("a", 1, victim("x", 1, 0, nil)), cand("b", 0, victim("y", 100, 0, nil))}, "b"},
		{"lowest highest-priority victim", []candidate{cand("a", 0, victim("x", 100, 0, nil)), cand("b", 0, victim("y", 1, 0, nil), victim("z", 1, 0, nil))}, "b"},
		{"lowest priority sum", []candidate{cand("a", 0, victim("x", 5, 0, nil), victim("y", 5, 0, nil)), cand("b", 0, victim("z", 5, 0, nil), victim("w", 1, 0, nil))}, "b"},
		{"more victims lose through the shifted priority sum", []candidate{cand("a", 0, victim("x", 5, 0, nil), victim("y", -10, 0, nil)), cand("b", 0, victim("z", 5, 0, nil))}, "b"},
		{"latest start of the highest-priority victims", []candidate{cand("a", 0, victim("x", 5, 10, nil)), cand("b", 0, victim("y", 5, 20, nil))}, "b"},
		{"first node on a full tie", []candidate{cand("a", 0, victim("x", 5, 10, nil)), cand("b", 0, victim("y", 5, 10, nil))}, "a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pickOne(tc.cands).node.Name(); got != tc.want {
				t.Errorf("picked %s, want %s", got, tc.want)
			}
		})
	}
}
