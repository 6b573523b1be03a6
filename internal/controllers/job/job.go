// Package job runs Jobs to completion: it keeps up to parallelism pods running until
// completions pods have succeeded (or, in Indexed mode, one per completion index), retries
// failures with exponential backoff up to backoffLimit, enforces activeDeadlineSeconds and
// suspend, reports active/ready/succeeded/failed counts, and sets the Complete or Failed
// condition (after SuccessCriteriaMet or FailureTarget) that `kubectl wait` looks for. Finished
// Jobs with ttlSecondsAfterFinished are deleted when it expires.
package job

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/klite/klite/internal/controller"
)

// Name is the controller's name for --controllers.
const Name = "job"

// Config is what the controller needs.
type Config struct {
	Client   kubernetes.Interface
	Jobs     batchinformers.JobInformer
	Pods     coreinformers.PodInformer
	Recorder record.EventRecorder
	Logger   *slog.Logger
	Workers  int
	// BackoffBase and BackoffMax bound the delay before a failed pod is replaced: base*2^(n-1)
	// after n failures, at most max (defaults 10s and 6m, as upstream).
	BackoffBase, BackoffMax time.Duration
	Now                     func() time.Time
}

// Controller is the Job controller.
type Controller struct {
	cfg  Config
	jobs batchlisters.JobLister
	pods corelisters.PodLister
	exp  *controller.Expectations
	loop *controller.Loop

	mu         sync.Mutex
	failedSeen map[types.UID]time.Time // when each failed pod was first seen failed
}

// New builds the controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Jobs == nil || cfg.Pods == nil {
		return nil, errors.New("job: Client, Jobs and Pods are required")
	}
	if cfg.Recorder == nil {
		cfg.Recorder = &record.FakeRecorder{}
	}
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase = 10 * time.Second
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = 6 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Workers == 0 {
		cfg.Workers = 5
	}
	c := &Controller{cfg: cfg, jobs: cfg.Jobs.Lister(), pods: cfg.Pods.Lister(), exp: controller.NewExpectations(cfg.Now), failedSeen: map[types.UID]time.Time{}}
	loop, err := controller.New(controller.Config{
		Name: Name, Reconciler: c, Logger: cfg.Logger, Workers: cfg.Workers,
		Synced: []cache.InformerSynced{cfg.Jobs.Informer().HasSynced, cfg.Pods.Informer().HasSynced},
	})
	if err != nil {
		return nil, err
	}
	c.loop = loop
	if _, err := cfg.Jobs.Informer().AddEventHandler(loop.Handler()); err != nil {
		return nil, err
	}
	_, err = cfg.Pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { c.podEvent(o, added) },
		UpdateFunc: func(_, o any) { c.podEvent(o, updated) },
		DeleteFunc: func(o any) { c.podEvent(o, deleted) },
	})
	return c, err
}

// Start runs the controller until ctx is cancelled.
func (c *Controller) Start(ctx context.Context) error { return c.loop.Start(ctx) }

type eventKind int

const (
	added eventKind = iota
	updated
	deleted
)

// podEvent records the event against the expectations of the Job controlling the pod.
func (c *Controller) podEvent(obj any, kind eventKind) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil || ref.Kind != "Job" {
		return
	}
	key := pod.Namespace + "/" + ref.Name
	c.noteFailure(pod, kind == deleted)
	switch {
	case kind == deleted || pod.DeletionTimestamp != nil:
		c.exp.DeletionObserved(key, pod.UID)
	case kind == added:
		c.exp.CreationObserved(key)
	}
	c.loop.EnqueueKey(key)
}

// noteFailure remembers when a pod was first seen failed: its failure time when no container
// reports one.
func (c *Controller) noteFailure(pod *corev1.Pod, gone bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch _, seen := c.failedSeen[pod.UID]; {
	case gone:
		delete(c.failedSeen, pod.UID)
	case !seen && pod.Status.Phase == corev1.PodFailed:
		c.failedSeen[pod.UID] = c.cfg.Now()
	}
}

func (c *Controller) failedAt(pod *corev1.Pod) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failedSeen[pod.UID]
}

// Reconcile syncs the Job named key.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	job, err := c.jobs.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.Forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	if finished(job) != "" {
		return c.expire(ctx, job)
	}
	if job.DeletionTimestamp != nil {
		return nil
	}
	pods, err := c.claimPods(ctx, job)
	if err != nil {
		return err
	}
	s := &pass{c: c, job: job.DeepCopy(), key: key, now: c.cfg.Now()}
	s.sort(pods)
	return s.run(ctx)
}

// claimPods returns the pods (in any phase) job controls, after adoption and release.
func (c *Controller) claimPods(ctx context.Context, job *batchv1.Job) ([]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return nil, nil
	}
	all, err := c.pods.Pods(job.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	owner := controller.OwnerOf(job, "batch/v1", "Job")
	return controller.Claim(ctx, owner, sel, all, func(ctx context.Context, name string, patch []byte) error {
		_, err := c.cfg.Client.CoreV1().Pods(job.Namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
		return err
	})
}

// finished returns the type of the Job's true Complete or Failed condition, or "".
func finished(job *batchv1.Job) batchv1.JobConditionType {
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return c.Type
		}
	}
	return ""
}

// expire deletes a finished Job once its ttlSecondsAfterFinished has passed.
func (c *Controller) expire(ctx context.Context, job *batchv1.Job) error {
	if job.Spec.TTLSecondsAfterFinished == nil || job.DeletionTimestamp != nil {
		return nil
	}
	var at time.Time
	for _, cond := range job.Status.Conditions {
		if cond.Type == finished(job) {
			at = cond.LastTransitionTime.Time
		}
	}
	if wait := at.Add(time.Duration(*job.Spec.TTLSecondsAfterFinished) * time.Second).Sub(c.cfg.Now()); wait > 0 {
		return controller.RequeueAfter(wait)
	}
	fg := metav1.DeletePropagationForeground
	err := c.cfg.Client.BatchV1().Jobs(job.Namespace).Delete(ctx, job.Name, metav1.DeleteOptions{
		PropagationPolicy: &fg, Preconditions: &metav1.Preconditions{UID: &job.UID},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}
