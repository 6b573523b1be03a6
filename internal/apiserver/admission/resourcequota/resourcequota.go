// Package resourcequota is the ResourceQuota admission plugin: a write that would take a
// namespace past a quota's spec.hard is refused with 403 Forbidden, in upstream's words:
//
//	exceeded quota: <name>, requested: cpu=1, used: cpu=2, limited: cpu=2
//	failed quota: <name>: must specify limits.cpu for: app
//	status unknown for quota: <name>, resources: pods
//
// Before admitting, the plugin charges the new usage into each affected quota's status.used
// with an update guarded by the quota's resourceVersion, re-reading and re-checking on conflict,
// so concurrent creates — on this API server or another — can never overshoot. The quota
// controller recomputes status.used from what the namespace really holds later on (releasing,
// for example, what a create that then failed had charged).
//
//	write ─▶ usage.Of(object) ─▶ for each quota selecting it: used+delta ≤ hard? ─▶ charge
//	         (updates: new − old)                       │ no                        (status, RV)
//	                                                    ▼                             │ conflict
//	                                                403 exceeded quota         re-read, re-check
package resourcequota

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/klite/klite/internal/apiserver/admission"
	"github.com/klite/klite/internal/quota/usage"
)

// Name is the plugin's name (upstream's).
const Name = "ResourceQuota"

// maxAttempts bounds the charge retries when other writers keep updating a quota.
const maxAttempts = 10

// Config is what the plugin needs.
type Config struct {
	// Quotas reads the namespace's quotas (an informer's lister; it may lag a little).
	Quotas corelisters.ResourceQuotaLister
	// Client charges usage into status.used and re-reads a quota after a conflict.
	Client corev1client.ResourceQuotasGetter
	// Synced, when set, reports whether Quotas has caught up; writes wait for it (up to
	// SyncTimeout, default 10s) rather than being admitted against an empty cache.
	Synced      func() bool
	SyncTimeout time.Duration
	Logger      *slog.Logger
}

// Plugin is the ResourceQuota admission plugin.
type Plugin struct {
	cfg   Config
	locks [64]sync.Mutex // per namespace (striped): one charge at a time per namespace here

	mu      sync.Mutex
	written map[string]*corev1.ResourceQuota // our latest charge per quota, until the lister catches up
}

var _ admission.Validating = (*Plugin)(nil)

// New checks cfg and builds the plugin.
func New(cfg Config) (*Plugin, error) {
	if cfg.Quotas == nil || cfg.Client == nil {
		return nil, errors.New("resourcequota admission: Quotas and Client are required")
	}
	if cfg.SyncTimeout == 0 {
		cfg.SyncTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Plugin{cfg: cfg, written: map[string]*corev1.ResourceQuota{}}, nil
}

// Validate refuses a create or update that would exceed a quota, and charges it otherwise.
func (p *Plugin) Validate(ctx context.Context, a *admission.Attributes) error {
	if a.Namespace == "" || a.Subresource != "" || a.Object == nil || (a.Operation != admission.Create && a.Operation != admission.Update) {
		return nil
	}
	gr := a.Resource.GroupResource()
	delta := usage.Of(gr, a.Object)
	if a.Operation == admission.Update && a.OldObject != nil {
		delta = positive(usage.Subtract(delta, usage.Of(gr, a.OldObject)))
		if len(delta) == 0 {
			return nil
		}
	}
	if err := p.waitSynced(ctx); err != nil {
		return err
	}
	lock := &p.locks[stripe(a.Namespace)]
	lock.Lock()
	defer lock.Unlock()
	quotas, err := p.cfg.Quotas.ResourceQuotas(a.Namespace).List(labels.Everything())
	if err != nil || len(quotas) == 0 {
		return err
	}
	return p.admit(ctx, a, gr, delta, p.freshest(quotas))
}

// admit checks every quota first (so a refusal charges nothing), then charges them.
func (p *Plugin) admit(ctx context.Context, a *admission.Attributes, gr schema.GroupResource, delta corev1.ResourceList, quotas []*corev1.ResourceQuota) error {
	pending := make([]*corev1.ResourceQuota, 0, len(quotas))
	for _, q := range quotas {
		next, err := charge(q, a.Object, delta)
		if err != nil {
			return forbidden(a, err)
		}
		if next != nil {
			pending = append(pending, next)
		}
	}
	if a.DryRun {
		return nil
	}
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt == maxAttempts {
			return apierrors.NewTimeoutError("resource quota evaluation timed out", 1)
		}
		var err error
		if pending, err = p.write(ctx, a, delta, pending); err != nil {
			return err
		}
	}
	return nil
}

// write stores each charged quota; those another writer changed meanwhile come back re-read
// and re-charged, to be written again.
func (p *Plugin) write(ctx context.Context, a *admission.Attributes, delta corev1.ResourceList, charged []*corev1.ResourceQuota) ([]*corev1.ResourceQuota, error) {
	var again []*corev1.ResourceQuota
	for _, next := range charged {
		stored, err := p.cfg.Client.ResourceQuotas(next.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
		switch {
		case err == nil:
			p.remember(stored)
			continue
		case apierrors.IsNotFound(err):
			continue
		case !apierrors.IsConflict(err):
			return nil, fmt.Errorf("charge quota %s: %w", next.Name, err)
		}
		live, err := p.cfg.Client.ResourceQuotas(next.Namespace).Get(ctx, next.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("re-read quota %s: %w", next.Name, err)
		}
		recharged, err := charge(live, a.Object, delta)
		if err != nil {
			return nil, forbidden(a, err)
		}
		if recharged != nil {
			again = append(again, recharged)
		}
	}
	return again, nil
}

// freshest replaces each listed quota by our own later write of it, if the lister lags behind.
func (p *Plugin) freshest(quotas []*corev1.ResourceQuota) []*corev1.ResourceQuota {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*corev1.ResourceQuota, len(quotas))
	for i, q := range quotas {
		out[i] = q
		key := q.Namespace + "/" + q.Name
		w, ok := p.written[key]
		switch {
		case !ok:
		case w.UID == q.UID && revision(w) > revision(q):
			out[i] = w
		default:
			delete(p.written, key) // the lister has caught up (or the quota was replaced)
		}
	}
	return out
}

func (p *Plugin) remember(q *corev1.ResourceQuota) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.written[q.Namespace+"/"+q.Name] = q
}

func revision(q *corev1.ResourceQuota) int64 {
	n, _ := strconv.ParseInt(q.ResourceVersion, 10, 64)
	return n
}

// charge checks obj's usage delta against quota q and returns q with the delta added to
// status.used, or nil when q does not limit anything obj uses.
func charge(q *corev1.ResourceQuota, obj runtime.Object, delta corev1.ResourceList) (*corev1.ResourceQuota, error) {
	if !usage.Matches(q, obj) {
		return nil, nil
	}
	hard := q.Spec.Hard
	if pod, ok := obj.(*corev1.Pod); ok {
		if err := usage.Constraints(names(hard), pod); err != nil {
			return nil, fmt.Errorf("failed quota: %s: %w", q.Name, err)
		}
	}
	var limited []corev1.ResourceName
	for name := range delta {
		if _, ok := hard[name]; ok {
			limited = append(limited, name)
		}
	}
	if len(limited) == 0 {
		return nil, nil
	}
	if lacking := lackingUsage(q, limited); len(lacking) > 0 {
		return nil, fmt.Errorf("status unknown for quota: %s, resources: %s", q.Name, joinNames(lacking))
	}
	next := q.DeepCopy()
	var exceeded []corev1.ResourceName
	for _, name := range limited {
		used := next.Status.Used[name]
		used.Add(delta[name])
		next.Status.Used[name] = used
		if used.Cmp(hard[name]) > 0 {
			exceeded = append(exceeded, name)
		}
	}
	if len(exceeded) > 0 {
		return nil, fmt.Errorf("exceeded quota: %s, requested: %s, used: %s, limited: %s",
			q.Name, pretty(delta, exceeded), pretty(q.Status.Used, exceeded), pretty(hard, exceeded))
	}
	return next, nil
}

// lackingUsage lists the names the quota controller has not counted yet.
func lackingUsage(q *corev1.ResourceQuota, limited []corev1.ResourceName) []corev1.ResourceName {
	var out []corev1.ResourceName
	for _, name := range limited {
		if _, ok := q.Status.Used[name]; !ok {
			out = append(out, name)
		}
	}
	return out
}

func (p *Plugin) waitSynced(ctx context.Context) error {
	return admission.WaitSynced(ctx, p.cfg.Synced, p.cfg.SyncTimeout, "resource quota")
}

func forbidden(a *admission.Attributes, err error) error {
	return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name, err)
}

func stripe(ns string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(ns))
	return int(h.Sum32() % 64)
}

// positive keeps the names whose value is above zero.
func positive(l corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for k, v := range l {
		if v.Sign() > 0 {
			out[k] = v
		}
	}
	return out
}

func names(l corev1.ResourceList) []corev1.ResourceName {
	out := make([]corev1.ResourceName, 0, len(l))
	for k := range l {
		out = append(out, k)
	}
	return out
}

// pretty renders the named entries of l as upstream does: sorted `name=value` joined by commas.
func pretty(l corev1.ResourceList, only []corev1.ResourceName) string {
	parts := make([]string, 0, len(only))
	for _, name := range only {
		v := l[name]
		parts = append(parts, string(name)+"="+v.String())
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func joinNames(ns []corev1.ResourceName) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = string(n)
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}
