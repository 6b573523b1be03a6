package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// listResult is the median time of a full JSON LIST of a namespace's pods through the API (served
// from the watch cache) and of an etcd range read of the same keys.
type listResult struct {
	pods               int
	bytes              int
	klite, typed, etcd time.Duration
}

// ratio is klite's list time over etcd's range time (lower is better).
func (r listResult) ratio() float64 { return float64(r.klite) / float64(r.etcd) }

func (r listResult) report(b *testing.B) {
	b.ReportMetric(ms(r.klite), "klite-list-ms")
	b.ReportMetric(ms(r.typed), "typed-list-ms")
	b.ReportMetric(ms(r.etcd), "etcd-range-ms")
	b.ReportMetric(r.ratio(), "ratio")
	b.ReportMetric(float64(r.bytes)/(1<<20), "response-MB")
}

// seedPods creates n pods in a fresh namespace through the API and returns the namespace.
func (e *env) seedPods(tb testing.TB, n int) string {
	tb.Helper()
	ns := e.namespace(tb, "list")
	if _, err := parallel(n, 16, e.createFunc(context.Background(), kindPod, ns, true)); err != nil {
		tb.Fatalf("seed pods: %v", err)
	}
	return ns
}

// measureList lists ns's pods iterations times each way: raw JSON bytes from the API (the figure
// compared), the same through client-go's typed decode (client cost included, for reference), and
// an etcd range read of the same prefix. b's timer, when b is not nil, covers the raw API lists.
func measureList(tb testing.TB, b *testing.B, e *env, ns string, want, iterations int) listResult {
	tb.Helper()
	ctx := context.Background()
	rc := e.json.CoreV1().RESTClient()
	res := listResult{pods: want}
	kd := make([]time.Duration, 0, iterations)
	timed(b, func() {
		for range iterations {
			start := time.Now()
			body, err := rc.Get().AbsPath("/api/v1/namespaces", ns, "pods").SetHeader("Accept", "application/json").Do(ctx).Raw()
			kd = append(kd, time.Since(start))
			if err != nil {
				tb.Fatalf("list pods: %v", err)
			}
			res.bytes = len(body)
		}
	})
	res.klite = percentile(kd, 50)
	res.typed = timeMedian(tb, iterations, func() (int, error) {
		l, err := e.json.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return 0, err
		}
		return len(l.Items), nil
	}, want)
	prefix := fmt.Sprintf("/registry/pods/%s/", ns)
	res.etcd = timeMedian(tb, iterations, func() (int, error) {
		resp, err := e.etcd.Get(ctx, prefix, clientv3.WithPrefix())
		if err != nil {
			return 0, err
		}
		return len(resp.Kvs), nil
	}, want)
	return res
}

// timeMedian runs f iterations times, checks it saw want items, and returns the median duration.
func timeMedian(tb testing.TB, iterations int, f func() (int, error), want int) time.Duration {
	tb.Helper()
	ds := make([]time.Duration, 0, iterations)
	for range iterations {
		start := time.Now()
		got, err := f()
		ds = append(ds, time.Since(start))
		if err != nil {
			tb.Fatalf("list: %v", err)
		}
		if got != want {
			tb.Fatalf("list returned %d items, want %d", got, want)
		}
	}
	return percentile(ds, 50)
}

// BenchmarkList5000Pods measures a full JSON LIST of 5,000 pods (no limit, served from the watch
// cache) against an etcd range read of the same 5,000 keys; b.N is the number of lists.
func BenchmarkList5000Pods(b *testing.B) {
	const pods = 5000
	e := startEnv(b)
	ns := e.seedPods(b, pods)
	b.Run("json", func(b *testing.B) {
		measureList(b, b, e, ns, pods, b.N).report(b)
	})
}
