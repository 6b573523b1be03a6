package apiserver

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// systemNamespaces exist from the start.
var systemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// bootstrap creates the built-in namespaces and the default/kubernetes Service if missing,
// retrying while etcd is unreachable.
func (s *Server) bootstrap(ctx context.Context) error {
	for {
		err := s.ensureSystemObjects(ctx)
		if err == nil {
			return nil
		}
		s.cfg.Logger.Warn("bootstrap: retrying", "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func (s *Server) ensureSystemObjects(ctx context.Context) error {
	nsStore := s.stores[core.WithResource("namespaces")]
	for _, name := range systemNamespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := s.ensure(ctx, nsStore, "", ns); err != nil {
			return err
		}
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default", Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"}},
		Spec: corev1.ServiceSpec{
			ClusterIP: s.alloc.ipAt(0).String(),
			Ports:     []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(6443)}},
		},
	}
	return s.ensure(ctx, s.stores[core.WithResource("services")], "default", svc)
}

func (s *Server) ensure(ctx context.Context, st *store, ns string, obj runtime.Object) error {
	name := obj.(metav1.Object).GetName()
	_, _, err := st.get(ctx, ns, name)
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return err
	}
	_, err = s.create(ctx, st, ns, obj, false, "kube-apiserver")
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create %s %s: %w", st.res.gvk.Kind, name, err)
	}
	return nil
}

// compactLoop compacts etcd's history the way kube-apiserver does: every interval, up to the
// revision seen at the previous tick, so that watches may resume over at least one interval.
func (s *Server) compactLoop(ctx context.Context) {
	const interval = 5 * time.Minute
	var last int64
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if last > 0 {
			if err := s.cfg.Storage.Compact(ctx, last); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Debug("compaction", "rev", last, "err", err)
			}
		}
		rev, err := s.cfg.Storage.CurrentRevision(ctx)
		if err == nil {
			last = rev
		}
	}
}
