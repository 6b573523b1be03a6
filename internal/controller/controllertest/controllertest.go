// Package controllertest runs controllers against a real in-process API server (embedded etcd
// and all) for integration tests: one cluster per test package, a namespace per test, and helpers
// to start controllers on shared informers and wait for what a user would observe.
package controllertest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"

	"github.com/klite/klite/internal/apiserver/apiservertest"
	"github.com/klite/klite/internal/informer"
)

// Env is a running test cluster.
type Env struct {
	Cluster *apiservertest.Cluster
	Config  *rest.Config
	Client  kubernetes.Interface
	Dynamic dynamic.Interface
}

var nsSeq atomic.Int64

// Main starts a cluster, runs the package's tests with it in *env, stops it and exits.
func Main(m *testing.M, env **Env) {
	c, err := apiservertest.Start("", apiservertest.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start test cluster:", err)
		os.Exit(1)
	}
	*env = &Env{Cluster: c, Config: c.Config, Client: c.Client, Dynamic: dynamic.NewForConfigOrDie(c.Config)}
	code := m.Run()
	c.Stop()
	_ = os.RemoveAll(c.DataDir)
	os.Exit(code)
}

// Namespace creates a fresh namespace for t.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d", sanitize(t.Name()), nsSeq.Add(1))
	_, err := e.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return name
}

func sanitize(s string) string {
	s = strings.ToLower(s)
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			b[i] = '-'
		}
	}
	s = strings.Trim(string(b), "-")
	if len(s) > 40 {
		s = strings.Trim(s[:40], "-")
	}
	return s
}

// Starter is a controller (or anything) that runs until its context is cancelled.
type Starter interface {
	Start(ctx context.Context) error
}

// Run starts factory and the starters; at the end of the test it cancels them and waits until
// all have returned. Build the controllers (which request informers) before calling Run.
func Run(t testing.TB, factory informers.SharedInformerFactory, starters ...Starter) context.Context {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, s := range starters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Start(ctx); err != nil {
				t.Errorf("controller: %v", err)
			}
		}()
	}
	if factory != nil {
		factory.Start(ctx.Done())
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		if factory != nil {
			factory.Shutdown()
		}
	})
	return ctx
}

// Eventually polls cond until it returns true, failing t with the last message after timeout.
func Eventually(t testing.TB, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var msg string
	for {
		var ok bool
		ok, msg = cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %s: %s", timeout, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Never checks that cond stays false for d.
func Never(t testing.TB, d time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok, msg := cond(); ok {
			t.Fatalf("unexpected: %s", msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Factory returns a shared informer factory on the cluster (no resync).
func (e *Env) Factory() informers.SharedInformerFactory {
	return informer.NewFactory(e.Client)
}

// MarkPodRunning sets a pod Running and Ready (or not ready) with the given IP on the given
// node, as a kubelet would.
func (e *Env) MarkPodRunning(t testing.TB, pod *corev1.Pod, ready bool, ip string) {
	t.Helper()
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p := pod.DeepCopy()
	p.Status.Phase = corev1.PodRunning
	p.Status.PodIP = ip
	if ip != "" {
		p.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st, LastTransitionTime: metav1.Now()}}
	if _, err := e.Client.CoreV1().Pods(p.Namespace).UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update pod status: %v", err)
	}
}

// Recorder returns an event recorder writing to the cluster, shut down at the end of the test.
func (e *Env) Recorder(t testing.TB, component string) record.EventRecorder {
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: e.Client.CoreV1().Events("")})
	t.Cleanup(b.Shutdown)
	return b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component})
}

// Events lists the reasons of the events about the named object.
func (e *Env) Events(ns, name string) []string {
	l, err := e.Client.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return nil
	}
	var out []string
	for _, ev := range l.Items {
		if ev.InvolvedObject.Name == name {
			out = append(out, ev.Reason)
		}
	}
	return out
}

// FakeKubelet plays the kubelet for every pod in ns until the test ends: pods it has not seen
// become Running, Ready when ready(pod) says so, with an IP from 10.244.0.0/16. Pods being
// deleted are removed at once.
func (e *Env) FakeKubelet(t testing.TB, ns string, ready func(*corev1.Pod) bool) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		var n int
		for ctx.Err() == nil {
			l, err := e.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err == nil {
				for i := range l.Items {
					p := &l.Items[i]
					if p.DeletionTimestamp != nil {
						zero := int64(0)
						_ = e.Client.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
						continue
					}
					if p.Status.Phase != "" && p.Status.Phase != corev1.PodPending {
						continue
					}
					n++
					e.setRunning(ctx, p, ready(p), fmt.Sprintf("10.244.%d.%d", n/250, n%250+1))
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

func (e *Env) setRunning(ctx context.Context, p *corev1.Pod, ready bool, ip string) {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p.Status.Phase, p.Status.PodIP, p.Status.PodIPs = corev1.PodRunning, ip, []corev1.PodIP{{IP: ip}}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st, LastTransitionTime: metav1.Now()}}
	_, _ = e.Client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
}
