package scheduler

import (
	"slices"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/klite/klite/internal/scheduler/framework"
)

// maxScoresKept bounds the per-node scores kept for a placed pod (the best ones).
const maxScoresKept = 10

// Rejection is why one node was ruled out.
type Rejection struct {
	Node    string   `json:"node"`
	Plugin  string   `json:"plugin"`
	Reasons []string `json:"reasons"`
}

// Decision is the scheduler's last decision about a pod.
type Decision struct {
	Pod       string    `json:"pod"` // namespace/name
	Time      time.Time `json:"time"`
	Result    string    `json:"result"` // Scheduled or Unschedulable
	Node      string    `json:"node,omitempty"`
	Message   string    `json:"message,omitempty"`
	Nodes     int       `json:"nodes"`     // nodes in the cluster
	Evaluated int       `json:"evaluated"` // nodes filtered
	Feasible  int       `json:"feasible"`
	// Scores are the best-scoring feasible nodes, each plugin's weighted share shown.
	Scores []framework.NodeScore `json:"scores,omitempty"`
	// Rejected lists the filter that rejected each node (for unschedulable pods).
	Rejected []Rejection `json:"rejected,omitempty"`
	Duration string      `json:"duration"`
}

// decisions keeps the last Decision per pod, bounded in number (oldest dropped first).
type decisions struct {
	mu    sync.Mutex
	max   int
	byPod map[string]*Decision
	order []string
}

func newDecisions(max int) *decisions { return &decisions{max: max, byPod: map[string]*Decision{}} }

func (d *decisions) record(dec *Decision) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.byPod[dec.Pod]; !ok {
		d.order = append(d.order, dec.Pod)
	}
	d.byPod[dec.Pod] = dec
	for len(d.byPod) > d.max && len(d.order) > 0 {
		delete(d.byPod, d.order[0])
		d.order = d.order[1:]
	}
	if len(d.order) > 2*d.max {
		d.order = slices.DeleteFunc(d.order, func(k string) bool { return d.byPod[k] == nil })
	}
}

func (d *decisions) forget(key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.byPod, key)
}

func (d *decisions) get(key string) (*Decision, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dec, ok := d.byPod[key]
	return dec, ok
}

// Explain returns the last decision about namespace/name.
func (s *Scheduler) Explain(namespace, name string) (*Decision, bool) {
	return s.decisions.get(namespace + "/" + name)
}

func (s *Scheduler) scheduledDecision(pod *corev1.Pod, res *result, start time.Time) *Decision {
	dec := &Decision{
		Pod: pod.Namespace + "/" + pod.Name, Time: s.cfg.Clock.Now(), Result: "Scheduled", Node: res.node,
		Nodes: len(s.snapshot.Load().Nodes), Evaluated: res.evaluated, Feasible: res.feasible,
		Duration: s.cfg.Clock.Since(start).String(),
	}
	dec.Scores = topScores(res.scores, maxScoresKept)
	return dec
}

// topScores returns the k best scores, best first (ties in node order), without sorting all.
func topScores(scores []framework.NodeScore, k int) []framework.NodeScore {
	top := make([]framework.NodeScore, 0, k+1)
	for _, sc := range scores {
		if len(top) == k && sc.Total <= top[k-1].Total {
			continue
		}
		i := sort.Search(len(top), func(i int) bool { return top[i].Total < sc.Total })
		top = slices.Insert(top, i, sc)
		if len(top) > k {
			top = top[:k]
		}
	}
	return top
}

func (s *Scheduler) failedDecision(pod *corev1.Pod, fitErr *FitError, msg string, start time.Time) *Decision {
	dec := &Decision{
		Pod: pod.Namespace + "/" + pod.Name, Time: s.cfg.Clock.Now(), Result: "Unschedulable", Message: msg,
		Nodes: len(s.snapshot.Load().Nodes), Duration: s.cfg.Clock.Since(start).String(),
	}
	if fitErr == nil {
		return dec
	}
	d := fitErr.Diagnosis
	dec.Evaluated = len(d.NodeToStatus)
	for node, st := range d.NodeToStatus {
		dec.Rejected = append(dec.Rejected, Rejection{Node: node, Plugin: st.Plugin(), Reasons: st.Reasons()})
	}
	if d.PreFilterStatus != nil {
		dec.Rejected = append(dec.Rejected, Rejection{Node: "*", Plugin: d.PreFilterStatus.Plugin(), Reasons: d.PreFilterStatus.Reasons()})
	}
	if d.AbsentStatus != nil && d.AbsentCount > 0 {
		dec.Rejected = append(dec.Rejected, Rejection{Node: "*", Plugin: "PreFilter", Reasons: d.AbsentStatus.Reasons()})
	}
	sort.Slice(dec.Rejected, func(i, j int) bool { return dec.Rejected[i].Node < dec.Rejected[j].Node })
	return dec
}
