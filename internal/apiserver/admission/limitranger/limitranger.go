// Package limitranger is the LimitRanger admission plugin. For a new pod it first fills in the
// namespace's LimitRange defaults (type Container: default → limits, defaultRequest → requests,
// on every container and init container that does not state them, noting what it set in the
// kubernetes.io/limit-ranger annotation), then checks the bounds — min, max and
// maxLimitRequestRatio per Container and per Pod — and, for a claim, the PersistentVolumeClaim
// min and max storage. A violation is a 403 in upstream's words, for example
//
//	pods "x" is forbidden: minimum cpu usage per Container is 100m, but request is 50m
package limitranger

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/klite/klite/internal/apiserver/admission"
)

// Name is the plugin's name (upstream's).
const Name = "LimitRanger"

// Annotation records the defaults the plugin set on a pod.
const Annotation = "kubernetes.io/limit-ranger"

// Config is what the plugin needs.
type Config struct {
	// LimitRanges reads the namespace's LimitRanges (an informer's lister).
	LimitRanges corelisters.LimitRangeLister
	// Synced, when set, reports whether LimitRanges has caught up; writes wait for it (up to
	// SyncTimeout, default 10s) rather than being admitted against an empty cache.
	Synced      func() bool
	SyncTimeout time.Duration
}

// Plugin is the LimitRanger admission plugin, both mutating (defaults) and validating (bounds).
type Plugin struct{ cfg Config }

var (
	_ admission.Mutating   = (*Plugin)(nil)
	_ admission.Validating = (*Plugin)(nil)
)

// New checks cfg and builds the plugin.
func New(cfg Config) (*Plugin, error) {
	if cfg.LimitRanges == nil {
		return nil, errors.New("limitranger: LimitRanges is required")
	}
	if cfg.SyncTimeout == 0 {
		cfg.SyncTimeout = 10 * time.Second
	}
	return &Plugin{cfg: cfg}, nil
}

// Admit applies the Container defaults of the namespace's LimitRanges to a new pod.
func (p *Plugin) Admit(ctx context.Context, a *admission.Attributes) error {
	pod, ok := a.Object.(*corev1.Pod)
	if !ok || a.Operation != admission.Create || a.Subresource != "" {
		return nil
	}
	ranges, err := p.ranges(ctx, a.Namespace)
	if err != nil {
		return err
	}
	for _, lr := range ranges {
		applyDefaults(pod, defaults(lr))
	}
	return nil
}

// Validate checks a new pod, or a new or resized claim, against the namespace's LimitRanges.
func (p *Plugin) Validate(ctx context.Context, a *admission.Attributes) error {
	if a.Subresource != "" || (a.Operation != admission.Create && a.Operation != admission.Update) {
		return nil
	}
	var check func(*corev1.LimitRange) []error
	switch o := a.Object.(type) {
	case *corev1.Pod:
		if a.Operation != admission.Create {
			return nil // containers' resources cannot change on update
		}
		check = func(lr *corev1.LimitRange) []error { return checkPod(lr, o) }
	case *corev1.PersistentVolumeClaim:
		check = func(lr *corev1.LimitRange) []error { return checkClaim(lr, o) }
	default:
		return nil
	}
	ranges, err := p.ranges(ctx, a.Namespace)
	if err != nil {
		return err
	}
	var errs []error
	for _, lr := range ranges {
		errs = append(errs, check(lr)...)
	}
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name, aggregate(errs))
}

func (p *Plugin) ranges(ctx context.Context, ns string) ([]*corev1.LimitRange, error) {
	if ns == "" {
		return nil, nil
	}
	if err := p.waitSynced(ctx); err != nil {
		return nil, err
	}
	ranges, err := p.cfg.LimitRanges.LimitRanges(ns).List(labels.Everything())
	sort.Slice(ranges, func(i, j int) bool { return ranges[i].Name < ranges[j].Name })
	return ranges, err
}

func (p *Plugin) waitSynced(ctx context.Context) error {
	return admission.WaitSynced(ctx, p.cfg.Synced, p.cfg.SyncTimeout, "limit range")
}

// aggregate joins several errors as upstream's aggregate does: one alone, several in brackets.
func aggregate(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return fmt.Errorf("[%s]", strings.Join(msgs, ", "))
}
