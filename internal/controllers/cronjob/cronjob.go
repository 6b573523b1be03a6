// Package cronjob starts Jobs on a CronJob's schedule (standard cron syntax, @hourly-style
// descriptors, spec.timeZone or a CRON_TZ= prefix): it creates one Job per scheduled time
// (named <cronjob>-<minutes since epoch>), honours concurrencyPolicy (Allow, Forbid, Replace),
// startingDeadlineSeconds and suspend, tracks status.active, lastScheduleTime and
// lastSuccessfulTime, and prunes finished Jobs beyond the history limits.
package cronjob

import (
	"context"
	"errors"
	"log/slog"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/klite/klite/internal/controller"
)

// Name is the controller's name for --controllers.
const Name = "cronjob"

// ScheduledTimestampAnnotation records on each Job the time it was scheduled for.
const ScheduledTimestampAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp"

// Config is what the controller needs.
type Config struct {
	Client   kubernetes.Interface
	CronJobs batchinformers.CronJobInformer
	Jobs     batchinformers.JobInformer
	Recorder record.EventRecorder
	Logger   *slog.Logger
	Now      func() time.Time
}

// Controller is the CronJob controller.
type Controller struct {
	cfg  Config
	cjl  batchlisters.CronJobLister
	jl   batchlisters.JobLister
	loop *controller.Loop
}

// New builds the controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.CronJobs == nil || cfg.Jobs == nil {
		return nil, errors.New("cronjob: Client, CronJobs and Jobs are required")
	}
	if cfg.Recorder == nil {
		cfg.Recorder = &record.FakeRecorder{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Controller{cfg: cfg, cjl: cfg.CronJobs.Lister(), jl: cfg.Jobs.Lister()}
	loop, err := controller.New(controller.Config{
		Name: Name, Reconciler: c, Logger: cfg.Logger,
		Synced: []cache.InformerSynced{cfg.CronJobs.Informer().HasSynced, cfg.Jobs.Informer().HasSynced},
	})
	if err != nil {
		return nil, err
	}
	c.loop = loop
	if _, err := cfg.CronJobs.Informer().AddEventHandler(loop.Handler()); err != nil {
		return nil, err
	}
	byOwner := func(o any) {
		if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
			o = t.Obj
		}
		if j, ok := o.(*batchv1.Job); ok {
			if ref := metav1.GetControllerOfNoCopy(j); ref != nil && ref.Kind == "CronJob" {
				loop.EnqueueKey(j.Namespace + "/" + ref.Name)
			}
		}
	}
	_, err = cfg.Jobs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: byOwner, UpdateFunc: func(_, o any) { byOwner(o) }, DeleteFunc: byOwner,
	})
	return c, err
}

// Start runs the controller until ctx is cancelled.
func (c *Controller) Start(ctx context.Context) error { return c.loop.Start(ctx) }

// Reconcile syncs the CronJob named key.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	cj, err := c.cjl.CronJobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	jobs, err := c.ownedJobs(cj)
	if err != nil {
		return err
	}
	p := &pass{c: c, cj: cj.DeepCopy(), jobs: jobs, now: c.cfg.Now()}
	return p.run(ctx)
}

func (c *Controller) ownedJobs(cj *batchv1.CronJob) ([]*batchv1.Job, error) {
	all, err := c.jl.Jobs(cj.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	var out []*batchv1.Job
	for _, j := range all {
		if metav1.IsControlledBy(j, cj) {
			out = append(out, j)
		}
	}
	return out, nil
}

func (c *Controller) event(cj *batchv1.CronJob, warning bool, reason, format string, args ...any) {
	t := corev1.EventTypeNormal
	if warning {
		t = corev1.EventTypeWarning
	}
	c.cfg.Recorder.Eventf(cj, t, reason, format, args...)
}
