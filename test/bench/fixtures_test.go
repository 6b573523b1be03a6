package bench

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/klite/klite/internal/apiserver/apiservertest"
)

// env is a running cluster plus the clients the measurements use.
type env struct {
	cluster *apiservertest.Cluster
	json    kubernetes.Interface // client-go speaking JSON, no client-side rate limit
	proto   kubernetes.Interface // client-go speaking protobuf
	etcd    *clientv3.Client     // raw etcd client for the baselines
	rounds  atomic.Int64         // makes namespaces unique across benchmark rounds
}

// startEnv starts a cluster for tb and stops it (and the clients) when tb ends.
func startEnv(tb testing.TB) *env {
	tb.Helper()
	c, err := apiservertest.Start(tb.TempDir(), apiservertest.Options{})
	if err != nil {
		tb.Fatalf("start cluster: %v", err)
	}
	tb.Cleanup(c.Stop)
	e := &env{cluster: c, json: newClient(tb, c.Config, false), proto: newClient(tb, c.Config, true)}
	e.etcd, err = clientv3.New(clientv3.Config{Endpoints: []string{c.Etcd.ClientURL}, DialTimeout: 10 * time.Second, Logger: zap.NewNop(), MaxCallRecvMsgSize: 1 << 30})
	if err != nil {
		tb.Fatalf("etcd client: %v", err)
	}
	tb.Cleanup(func() { _ = e.etcd.Close() })
	return e
}

// restConfig copies cfg without client-side rate limiting, speaking JSON or protobuf.
func restConfig(cfg *rest.Config, protobuf bool) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, 0
	// Set explicitly both ways: left empty, client-go's generated clients default to protobuf.
	cfg.ContentType, cfg.AcceptContentTypes = "application/json", "application/json"
	if protobuf {
		cfg.ContentType = "application/vnd.kubernetes.protobuf"
		cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	}
	return cfg
}

func newClient(tb testing.TB, cfg *rest.Config, protobuf bool) kubernetes.Interface {
	tb.Helper()
	c, err := kubernetes.NewForConfig(restConfig(cfg, protobuf))
	if err != nil {
		tb.Fatalf("client: %v", err)
	}
	return c
}

// client returns the JSON or protobuf client.
func (e *env) client(protobuf bool) kubernetes.Interface {
	if protobuf {
		return e.proto
	}
	return e.json
}

// namespace creates a namespace unique to this round of a benchmark.
func (e *env) namespace(tb testing.TB, prefix string) string {
	tb.Helper()
	name := fmt.Sprintf("%s-%d", prefix, e.rounds.Add(1))
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := e.json.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		tb.Fatalf("create namespace: %v", err)
	}
	return name
}

// configMap is a small ConfigMap of the kind controllers write (~300 bytes of JSON stored).
func configMap(ns, name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": "bench", "tier": "backend"}},
		Data: map[string]string{
			"config.yaml": "listen: 0.0.0.0:8080\nlogLevel: info\nworkers: 4\n",
			"feature":     "enabled",
		},
	}
}

// pod is a realistic Pod: two containers with ports, env, resources, probes and volume mounts,
// plus the defaults the server fills in (~2.5 KB of JSON stored).
func pod(ns, name string) *corev1.Pod {
	res := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
	}
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 10}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
			Labels:      map[string]string{"app": "web", "pod-template-hash": "5d4f8b7c9", "tier": "frontend"},
			Annotations: map[string]string{"kubectl.kubernetes.io/default-container": "web"},
		},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "web", Image: "registry.example.com/team/web:1.27.3",
				Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				Env:            []corev1.EnvVar{{Name: "MODE", Value: "production"}, {Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
				Resources:      res,
				LivenessProbe:  probe,
				ReadinessProbe: probe,
				VolumeMounts:   []corev1.VolumeMount{{Name: "config", MountPath: "/etc/web"}, {Name: "cache", MountPath: "/var/cache/web"}},
			}, {
				Name: "sidecar", Image: "registry.example.com/infra/log-shipper:2.4.0",
				Args:         []string{"--input=/var/log/web", "--output=stdout"},
				Resources:    res,
				VolumeMounts: []corev1.VolumeMount{{Name: "cache", MountPath: "/var/log/web"}},
			}},
			Volumes: []corev1.Volume{
				{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "web-config"}}}},
				{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			},
			NodeSelector: map[string]string{"kubernetes.io/os": "linux"},
			Tolerations:  []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "web", Effect: corev1.TaintEffectNoSchedule}},
		},
	}
}

// parallel runs do(i) for i in [0, n) on workers goroutines and returns the elapsed time.
func parallel(n, workers int, do func(i int) error) (time.Duration, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := do(i); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start), firstErr
}

// timed runs f with b's timer (when b is not nil) covering exactly f.
// cpuTime is the CPU time (user and system) this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func timed(b *testing.B, f func()) {
	if b != nil {
		b.ResetTimer()
		b.StartTimer()
		defer b.StopTimer()
	}
	f()
}

// rate is operations per second.
func rate(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }

// percentile returns the p-th percentile (0 < p <= 100) of ds, which it sorts.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	i := int(float64(len(ds))*p/100+0.5) - 1
	return ds[max(0, min(i, len(ds)-1))]
}

// ms converts d to milliseconds for reporting.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
