package limitranger

import (
	"context"
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

// late forwards to the plugin once the cluster it reads from is up.
type late struct{ p atomic.Pointer[Plugin] }

func (l *late) Admit(ctx context.Context, a *admission.Attributes) error {
	if p := l.p.Load(); p != nil {
		return p.Admit(ctx, a)
	}
	return nil
}

func (l *late) Validate(ctx context.Context, a *admission.Attributes) error {
	if p := l.p.Load(); p != nil {
		return p.Validate(ctx, a)
	}
	return nil
}

// startCluster runs a real API server with this plugin, one namespace "ns" and the given
// LimitRange in it.
func startCluster(t *testing.T, items ...corev1.LimitRangeItem) kubernetes.Interface {
	t.Helper()
	l := &late{}
	c := apiservertest.StartT(t, apiservertest.Options{Configure: func(cfg *apiserver.Config) {
		cfg.Mutating = append(cfg.Mutating, l)
		cfg.Validating = append(cfg.Validating, l)
	}})
	ctx, cancel := context.WithCancel(context.Background())
	f := informers.NewSharedInformerFactory(c.Client, 0)
	ranges := f.Core().V1().LimitRanges()
	p, err := New(Config{LimitRanges: ranges.Lister(), Synced: ranges.Informer().HasSynced})
	if err != nil {
		t.Fatal(err)
	}
	f.Start(ctx.Done())
	t.Cleanup(func() { cancel(); f.Shutdown() })
	l.p.Store(p)
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "limits"}, Spec: corev1.LimitRangeSpec{Limits: items}}
	if _, err := c.Client.CoreV1().LimitRanges("ns").Create(ctx, lr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _ := ranges.Lister().LimitRanges("ns").Get("limits")
		if got != nil {
			return c.Client
		}
		if time.Now().After(deadline) {
			t.Fatal("the plugin never saw the LimitRange")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func list(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func container(name string, req, lim corev1.ResourceList) corev1.Container {
	return corev1.Container{Name: name, Image: "busybox", Resources: corev1.ResourceRequirements{Requests: req, Limits: lim}}
}

func podOf(name string, cs ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Containers: cs}}
}

func TestDefaultsAreApplied(t *testing.T) {
	cs := startCluster(t, corev1.LimitRangeItem{Type: corev1.LimitTypeContainer,
		Default: list("cpu", "500m", "memory", "256Mi"), DefaultRequest: list("cpu", "100m")})
	ctx := context.Background()
	tests := []struct {
		name          string
		pod           *corev1.Pod
		wantReq       corev1.ResourceList
		wantLim       corev1.ResourceList
		wantAnnotated string
	}{
		{"nothing stated", podOf("bare", container("app", nil, nil)), list("cpu", "100m", "memory", "256Mi"), list("cpu", "500m", "memory", "256Mi"),
			"LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app"},
		{"own limit keeps its request", podOf("own", container("app", nil, list("cpu", "2"))), list("cpu", "2", "memory", "256Mi"), list("cpu", "2", "memory", "256Mi"),
			"LimitRanger plugin set: memory request for container app; memory limit for container app"},
		{"everything stated", podOf("full", container("app", list("cpu", "1", "memory", "1Gi"), list("cpu", "1", "memory", "1Gi"))), list("cpu", "1", "memory", "1Gi"), list("cpu", "1", "memory", "1Gi"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cs.CoreV1().Pods("ns").Create(ctx, tt.pod, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			r := got.Spec.Containers[0].Resources
			if !equal(r.Requests, tt.wantReq) || !equal(r.Limits, tt.wantLim) {
				t.Errorf("requests %v limits %v; want %v and %v", r.Requests, r.Limits, tt.wantReq, tt.wantLim)
			}
			if a := got.Annotations[Annotation]; a != tt.wantAnnotated {
				t.Errorf("annotation %q, want %q", a, tt.wantAnnotated)
			}
		})
	}
}

func equal(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || v.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

func TestBoundsAreEnforced(t *testing.T) {
	cs := startCluster(t,
		corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Min: list("cpu", "100m"), Max: list("cpu", "2", "memory", "1Gi"),
			MaxLimitRequestRatio: list("memory", "2")},
		corev1.LimitRangeItem{Type: corev1.LimitTypePod, Max: list("cpu", "3")},
		corev1.LimitRangeItem{Type: corev1.LimitTypePersistentVolumeClaim, Min: list("storage", "1Gi"), Max: list("storage", "10Gi")})
	ctx := context.Background()
	tests := []struct {
		name    string
		pod     *corev1.Pod
		wantErr string
	}{
		{"within bounds (defaults from max)", podOf("ok", container("app", list("cpu", "200m", "memory", "512Mi"), nil)), ""},
		{"below min", podOf("small", container("app", list("cpu", "50m", "memory", "1Gi"), nil)),
			`pods "small" is forbidden: minimum cpu usage per Container is 100m, but request is 50m`},
		{"above max", podOf("big", container("app", list("cpu", "1", "memory", "1Gi"), list("cpu", "2500m"))),
			`pods "big" is forbidden: maximum cpu usage per Container is 2, but limit is 2500m`},
		{"ratio", podOf("ratio", container("app", list("cpu", "1", "memory", "256Mi"), list("memory", "1Gi"))),
			`pods "ratio" is forbidden: memory max limit to request ratio per Container is 2, but provided ratio is 4.000000`},
		{"pod total", podOf("sum", container("a", list("cpu", "2", "memory", "1Gi"), nil), container("b", list("cpu", "2", "memory", "1Gi"), nil)),
			`pods "sum" is forbidden: maximum cpu usage per Pod is 3, but limit is 4`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cs.CoreV1().Pods("ns").Create(ctx, tt.pod, metav1.CreateOptions{})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatal(err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr || !apierrors.IsForbidden(err)):
				t.Fatalf("got %v, want 403 %q", err, tt.wantErr)
			}
		})
	}
	claim := func(name, size string) error {
		_, err := cs.CoreV1().PersistentVolumeClaims("ns").Create(ctx, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: list("storage", size)}}}, metav1.CreateOptions{})
		return err
	}
	if err := claim("fine", "5Gi"); err != nil {
		t.Fatal(err)
	}
	want := `persistentvolumeclaims "huge" is forbidden: maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi`
	if err := claim("huge", "20Gi"); err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}
