package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// createResult is one create measurement: n objects through the API, then n raw etcd Txn creates
// of the same stored payload, at the same concurrency. getTxn is a diagnostic: the same creates,
// each preceded by a linearizable etcd Get of the namespace, the etcd work the server's
// NamespaceLifecycle check adds to every create.
type createResult struct {
	n                   int
	klite, etcd, getTxn time.Duration
	// kliteCPU and etcdCPU are the process's CPU time (user+system) over each phase: the API
	// phase includes client-go, the server and etcd; the raw phase the etcd client and etcd.
	kliteCPU, etcdCPU time.Duration
	payloadBytes      int
}

func (r createResult) kliteRate() float64 { return rate(r.n, r.klite) }
func (r createResult) etcdRate() float64  { return rate(r.n, r.etcd) }

// ratio is klite's create rate over raw etcd's (goal ≥ 0.5).
func (r createResult) ratio() float64 { return r.kliteRate() / r.etcdRate() }

func (r createResult) report(b *testing.B) {
	b.ReportMetric(r.kliteRate(), "klite-creates/s")
	b.ReportMetric(r.etcdRate(), "etcd-creates/s")
	b.ReportMetric(r.ratio(), "ratio")
	b.ReportMetric(rate(r.n, r.getTxn), "etcd-get+txn/s")
	b.ReportMetric(float64(r.payloadBytes), "payload-B")
	b.ReportMetric(float64(r.kliteCPU.Microseconds())/float64(r.n), "klite-cpu-us/op")
	b.ReportMetric(float64(r.etcdCPU.Microseconds())/float64(r.n), "etcd-cpu-us/op")
}

// kinds are the resources the create benchmark writes.
const (
	kindConfigMap = "configmaps"
	kindPod       = "pods"
)

// measureCreates creates n objects of kind through the API on workers goroutines, then as many raw
// etcd creates (Txn on CreateRevision == 0) of the payload the server stored for one of them. b,
// when not nil, has its timer cover only the API phase.
func measureCreates(tb testing.TB, b *testing.B, e *env, kind string, protobuf bool, n, workers int) createResult {
	tb.Helper()
	ns := e.namespace(tb, "create")
	ctx := context.Background()
	create := e.createFunc(ctx, kind, ns, protobuf)
	var kd time.Duration
	var err error
	cpu0 := cpuTime()
	timed(b, func() { kd, err = parallel(n, workers, create) })
	kliteCPU := cpuTime() - cpu0
	if err != nil {
		tb.Fatalf("create %s through the API: %v", kind, err)
	}
	payload := e.storedValue(tb, fmt.Sprintf("/registry/%s/%s/obj-0", kind, ns))
	raw := fmt.Sprintf("/bench/%s/%s/", kind, ns)
	cpu0 = cpuTime()
	ed, err := parallel(n, workers, func(i int) error { return rawCreate(ctx, e.etcd, fmt.Sprintf("%sobj-%d", raw, i), payload) })
	etcdCPU := cpuTime() - cpu0
	if err != nil {
		tb.Fatalf("raw etcd create: %v", err)
	}
	nsKey := "/registry/namespaces/" + ns
	gd, err := parallel(n, workers, func(i int) error {
		if _, err := e.etcd.Get(ctx, nsKey); err != nil {
			return err
		}
		return rawCreate(ctx, e.etcd, fmt.Sprintf("%sget-txn-%d", raw, i), payload)
	})
	if err != nil {
		tb.Fatalf("raw etcd get+create: %v", err)
	}
	return createResult{n: n, klite: kd, etcd: ed, getTxn: gd, kliteCPU: kliteCPU, etcdCPU: etcdCPU, payloadBytes: len(payload)}
}

// createFunc returns a function that creates object i of kind in ns through client-go.
func (e *env) createFunc(ctx context.Context, kind, ns string, protobuf bool) func(i int) error {
	c := e.client(protobuf)
	if kind == kindPod {
		return func(i int) error {
			_, err := c.CoreV1().Pods(ns).Create(ctx, pod(ns, fmt.Sprintf("obj-%d", i)), metav1.CreateOptions{})
			return err
		}
	}
	return func(i int) error {
		_, err := c.CoreV1().ConfigMaps(ns).Create(ctx, configMap(ns, fmt.Sprintf("obj-%d", i)), metav1.CreateOptions{})
		return err
	}
}

// storedValue reads key's value straight from etcd.
func (e *env) storedValue(tb testing.TB, key string) []byte {
	tb.Helper()
	resp, err := e.etcd.Get(context.Background(), key)
	if err != nil || len(resp.Kvs) == 0 {
		tb.Fatalf("read %s from etcd: %v (found %d)", key, err, len(resp.Kvs))
	}
	return resp.Kvs[0].Value
}

// rawCreate is what a create costs etcd itself: a Txn putting key only if it does not exist.
func rawCreate(ctx context.Context, c *clientv3.Client, key string, value []byte) error {
	resp, err := c.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).Then(clientv3.OpPut(key, string(value))).Commit()
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		return fmt.Errorf("raw create %s: key exists", key)
	}
	return nil
}

// BenchmarkCreate measures ConfigMap creates/s (JSON and protobuf clients, concurrency 1 and 16)
// and Pod creates/s (concurrency 16) against raw etcd Txn creates of the same payload; b.N is the
// number of objects per phase.
func BenchmarkCreate(b *testing.B) {
	e := startEnv(b)
	cases := []struct {
		kind     string
		protobuf bool
		workers  int
	}{
		{kindConfigMap, false, 1},
		{kindConfigMap, true, 1},
		{kindConfigMap, false, 16},
		{kindConfigMap, true, 16},
		{kindPod, false, 16},
		{kindPod, true, 16},
	}
	for _, tc := range cases {
		enc := "json"
		if tc.protobuf {
			enc = "protobuf"
		}
		b.Run(fmt.Sprintf("%s/%s/c%d", tc.kind, enc, tc.workers), func(b *testing.B) {
			measureCreates(b, b, e, tc.kind, tc.protobuf, b.N, tc.workers).report(b)
		})
	}
}
