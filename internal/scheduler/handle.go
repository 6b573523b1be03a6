package scheduler

import (
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/events"

	"github.com/klite/klite/internal/scheduler/framework"
)

// handle gives one profile's plugins access to the scheduler.
type handle struct {
	s       *Scheduler
	fw      *framework.Framework
	profile string // its scheduler name
}

var _ framework.Handle = &handle{}

func (h *handle) Client() kubernetes.Interface               { return h.s.cfg.Client }
func (h *handle) Informers() informers.SharedInformerFactory { return h.s.informers }
func (h *handle) Snapshot() *framework.Snapshot              { return h.s.snapshot.Load() }
func (h *handle) Framework() *framework.Framework            { return h.fw }
func (h *handle) EventRecorder() events.EventRecorder        { return h.s.recorders[h.profile] }

func (h *handle) NominatedPodsForNode(node string) []*framework.PodInfo {
	return h.s.nominator.podsFor(node)
}
