package resourcequota

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"

	"github.com/klite/klite/internal/apiserver"
	"github.com/klite/klite/internal/apiserver/admission"
	"github.com/klite/klite/internal/apiserver/apiservertest"
)

// late forwards to the plugins once the cluster they read from is up, taking turns: several
// instances stand for several API servers, each with its own locks and cache.
type late struct {
	ps   atomic.Pointer[[]*Plugin]
	next atomic.Int64
}

func (l *late) Validate(ctx context.Context, a *admission.Attributes) error {
	if ps := l.ps.Load(); ps != nil {
		return (*ps)[int(l.next.Add(1))%len(*ps)].Validate(ctx, a)
	}
	return nil
}

// startCluster runs a real API server whose validating admission is this plugin.
func startCluster(t *testing.T) kubernetes.Interface { return startClusterN(t, 1) }

// startClusterN is startCluster with n plugin instances, each with its own informer.
func startClusterN(t *testing.T, n int) kubernetes.Interface {
	t.Helper()
	l := &late{}
	c := apiservertest.StartT(t, apiservertest.Options{Configure: func(cfg *apiserver.Config) {
		cfg.Validating = append(cfg.Validating, l)
	}})
	var ps []*Plugin
	for range n {
		ctx, cancel := context.WithCancel(context.Background())
		f := informers.NewSharedInformerFactory(c.Client, 0)
		quotas := f.Core().V1().ResourceQuotas()
		p, err := New(Config{Quotas: quotas.Lister(), Client: c.Client.CoreV1(), Synced: quotas.Informer().HasSynced})
		if err != nil {
			t.Fatal(err)
		}
		f.Start(ctx.Done())
		t.Cleanup(func() { cancel(); f.Shutdown() })
		ps = append(ps, p)
	}
	l.ps.Store(&ps)
	return c.Client
}

func namespace(t *testing.T, cs kubernetes.Interface, name string) string {
	t.Helper()
	if _, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

// createQuota creates a quota and records zero usage for it, as the quota controller would
// for an empty namespace, then waits until admission sees it.
func createQuota(t *testing.T, cs kubernetes.Interface, ns string, q *corev1.ResourceQuota) {
	t.Helper()
	ctx := context.Background()
	q, err := cs.CoreV1().ResourceQuotas(ns).Create(ctx, q, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q.Status.Hard, q.Status.Used = q.Spec.Hard, corev1.ResourceList{}
	for name := range q.Spec.Hard {
		q.Status.Used[name] = resource.MustParse("0")
	}
	if name := corev1.ResourceName("resourcequotas"); q.Spec.Hard[name] != (resource.Quantity{}) {
		q.Status.Used[name] = resource.MustParse("1")
	}
	if _, err := cs.CoreV1().ResourceQuotas(ns).UpdateStatus(ctx, q, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // let the plugin's informer see it
}

func quota(name string, hard map[string]string) *corev1.ResourceQuota {
	q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{}}}
	for k, v := range hard {
		q.Spec.Hard[corev1.ResourceName(k)] = resource.MustParse(v)
	}
	return q
}

func pod(name string, requests, limits map[string]string) *corev1.Pod {
	c := corev1.Container{Name: "app", Image: "busybox"}
	for k, v := range requests {
		if c.Resources.Requests == nil {
			c.Resources.Requests = corev1.ResourceList{}
		}
		c.Resources.Requests[corev1.ResourceName(k)] = resource.MustParse(v)
	}
	for k, v := range limits {
		if c.Resources.Limits == nil {
			c.Resources.Limits = corev1.ResourceList{}
		}
		c.Resources.Limits[corev1.ResourceName(k)] = resource.MustParse(v)
	}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Containers: []corev1.Container{c}}}
}

func used(t *testing.T, cs kubernetes.Interface, ns, name string) corev1.ResourceList {
	t.Helper()
	q, err := cs.CoreV1().ResourceQuotas(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return q.Status.Used
}

func TestPodQuota(t *testing.T) {
	cs := startCluster(t)
	ns := namespace(t, cs, "pods")
	createQuota(t, cs, ns, quota("compute", map[string]string{"pods": "3", "requests.cpu": "2", "limits.memory": "1Gi"}))
	ctx := context.Background()
	tests := []struct {
		name    string
		pod     *corev1.Pod
		wantErr string
	}{
		{"fits", pod("a", map[string]string{"cpu": "1"}, map[string]string{"memory": "512Mi"}), ""},
		{"missing limit", pod("b", map[string]string{"cpu": "1"}, nil),
			`pods "b" is forbidden: failed quota: compute: must specify limits.memory for: app`},
		{"missing both", pod("c", nil, nil),
			`pods "c" is forbidden: failed quota: compute: must specify limits.memory for: app; requests.cpu for: app`},
		{"fills cpu", pod("d", map[string]string{"cpu": "1"}, map[string]string{"memory": "256Mi"}), ""},
		{"too much cpu", pod("e", map[string]string{"cpu": "500m"}, map[string]string{"memory": "1Mi"}),
			`pods "e" is forbidden: exceeded quota: compute, requested: requests.cpu=500m, used: requests.cpu=2, limited: requests.cpu=2`},
		{"fits without cpu left", pod("f", map[string]string{"cpu": "0"}, map[string]string{"memory": "256Mi"}), ""},
		{"pod count", pod("g", map[string]string{"cpu": "0"}, map[string]string{"memory": "1Mi"}),
			`pods "g" is forbidden: exceeded quota: compute, requested: limits.memory=1Mi,pods=1, used: limits.memory=1Gi,pods=3, limited: limits.memory=1Gi,pods=3`},
	}
	for _, tt := range tests {
		_, err := cs.CoreV1().Pods(ns).Create(ctx, tt.pod, metav1.CreateOptions{})
		switch {
		case tt.wantErr == "" && err != nil:
			t.Fatalf("%s: %v", tt.name, err)
		case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr || !apierrors.IsForbidden(err)):
			t.Fatalf("%s: got %v, want 403 %q", tt.name, err, tt.wantErr)
		}
	}
	u := used(t, cs, ns, "compute")
	for k, want := range map[corev1.ResourceName]string{"pods": "3", "requests.cpu": "2", "limits.memory": "1Gi"} {
		if got := u[k]; got.Cmp(resource.MustParse(want)) != 0 {
			t.Errorf("used %s = %s, want %s", k, got.String(), want)
		}
	}
}

func TestObjectCountsAndScopes(t *testing.T) {
	cs := startCluster(t)
	ns := namespace(t, cs, "counts")
	ctx := context.Background()
	createQuota(t, cs, ns, quota("objects", map[string]string{"configmaps": "1", "count/secrets": "1", "services.nodeports": "2", "services.loadbalancers": "0"}))
	createQuota(t, cs, ns, quota("besteffort", map[string]string{"pods": "1"}))
	be, _ := cs.CoreV1().ResourceQuotas(ns).Get(ctx, "besteffort", metav1.GetOptions{})
	be.Spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}
	if _, err := cs.CoreV1().ResourceQuotas(ns).Update(ctx, be, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	cm := func(n string) error {
		_, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{})
		return err
	}
	secret := func(n string) error {
		_, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{})
		return err
	}
	svc := func(n string, typ corev1.ServiceType, ports int) error {
		s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: n}, Spec: corev1.ServiceSpec{Type: typ}}
		for i := range ports {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: fmt.Sprint("p", i), Port: int32(80 + i)})
		}
		_, err := cs.CoreV1().Services(ns).Create(ctx, s, metav1.CreateOptions{})
		return err
	}
	createPod := func(p *corev1.Pod) error {
		_, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		return err
	}
	tests := []struct {
		name    string
		create  func() error
		wantErr string
	}{
		{"first configmap", func() error { return cm("one") }, ""},
		{"second configmap", func() error { return cm("two") }, "exceeded quota: objects, requested: configmaps=1, used: configmaps=1, limited: configmaps=1"},
		{"first secret", func() error { return secret("one") }, ""},
		{"second secret", func() error { return secret("two") }, "exceeded quota: objects, requested: count/secrets=1, used: count/secrets=1, limited: count/secrets=1"},
		{"cluster ip service", func() error { return svc("plain", corev1.ServiceTypeClusterIP, 3) }, ""},
		{"nodeport service with 3 ports", func() error { return svc("np3", corev1.ServiceTypeNodePort, 3) }, "exceeded quota: objects, requested: services.nodeports=3, used: services.nodeports=0, limited: services.nodeports=2"},
		{"nodeport service with 2 ports", func() error { return svc("np2", corev1.ServiceTypeNodePort, 2) }, ""},
		{"load balancer", func() error { return svc("lb", corev1.ServiceTypeLoadBalancer, 1) },
			"exceeded quota: objects, requested: services.loadbalancers=1,services.nodeports=1, used: services.loadbalancers=0,services.nodeports=2, limited: services.loadbalancers=0,services.nodeports=2"},
		{"best-effort pod", func() error { return createPod(pod("be1", nil, nil)) }, ""},
		{"second best-effort pod", func() error { return createPod(pod("be2", nil, nil)) }, "exceeded quota: besteffort, requested: pods=1, used: pods=1, limited: pods=1"},
		{"burstable pod is out of scope", func() error { return createPod(pod("burst", map[string]string{"cpu": "1m"}, nil)) }, ""},
	}
	for _, tt := range tests {
		err := tt.create()
		switch {
		case tt.wantErr == "" && err != nil:
			t.Fatalf("%s: %v", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.HasSuffix(err.Error(), "is forbidden: "+tt.wantErr)):
			t.Fatalf("%s: got %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestStatusUnknownAndDryRun(t *testing.T) {
	cs := startCluster(t)
	ns := namespace(t, cs, "unknown")
	ctx := context.Background()
	if _, err := cs.CoreV1().ResourceQuotas(ns).Create(ctx, quota("fresh", map[string]string{"configmaps": "5"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	_, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	if want := `configmaps "x" is forbidden: status unknown for quota: fresh, resources: configmaps`; err == nil || err.Error() != want {
		t.Fatalf("before the controller counted: got %v, want %q", err, want)
	}
	createQuota(t, cs, ns, quota("counted", map[string]string{"configmaps": "5"}))
	if err := cs.CoreV1().ResourceQuotas(ns).Delete(ctx, "fresh", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatal(err)
	}
	if u := used(t, cs, ns, "counted")["configmaps"]; !u.IsZero() {
		t.Fatalf("a dry run charged the quota: used %s", u.String())
	}
}

// TestConcurrentCreatesNeverExceedHard fires many creates at once, in two namespaces, through
// three plugin instances (as three API servers would admit them), and checks that exactly hard
// of them succeed in each namespace and status.used says so.
func TestConcurrentCreatesNeverExceedHard(t *testing.T) {
	cs := startClusterN(t, 3)
	ctx := context.Background()
	const hard, attempts = 7, 30
	for _, ns := range []string{"race-a", "race-b"} {
		namespace(t, cs, ns)
		createQuota(t, cs, ns, quota("cm", map[string]string{"configmaps": fmt.Sprint(hard)}))
	}
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for _, ns := range []string{"race-a", "race-b"} {
		for i := range attempts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("cm-", i)}}, metav1.CreateOptions{})
				switch {
				case err == nil:
					ok.Add(1)
				case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota: cm"):
					refused.Add(1)
				default:
					t.Errorf("create: %v", err)
				}
			}()
		}
	}
	wg.Wait()
	if ok.Load() != 2*hard || refused.Load() != 2*(attempts-hard) {
		t.Fatalf("%d created, %d refused; want %d and %d", ok.Load(), refused.Load(), 2*hard, 2*(attempts-hard))
	}
	for _, ns := range []string{"race-a", "race-b"} {
		l, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) != hard {
			t.Errorf("%s holds %d configmaps, want %d", ns, len(l.Items), hard)
		}
		if u := used(t, cs, ns, "cm")["configmaps"]; u.Value() != hard {
			t.Errorf("%s used %s, want %d", ns, u.String(), hard)
		}
	}
}
