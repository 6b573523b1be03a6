package bench

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// watchResult holds write-to-event latencies: from just before a writer sends a create to when a
// client-go watcher (or the raw etcd watch) receives its event.
type watchResult struct {
	writes           int
	watchers         int
	writeRate        float64
	klite50, klite99 time.Duration
	etcd50, etcd99   time.Duration
}

// ratio is klite's p99 over etcd's own watch p99 for the same writes.
func (r watchResult) ratio() float64 { return float64(r.klite99) / float64(r.etcd99) }

func (r watchResult) report(b *testing.B) {
	b.ReportMetric(ms(r.klite50), "klite-p50-ms")
	b.ReportMetric(ms(r.klite99), "klite-p99-ms")
	b.ReportMetric(ms(r.etcd50), "etcd-p50-ms")
	b.ReportMetric(ms(r.etcd99), "etcd-p99-ms")
	b.ReportMetric(r.ratio(), "p99-ratio")
	b.ReportMetric(r.writeRate, "writes/s")
}

// watchLatency is one run: watchers client-go watches and one raw etcd watch on a namespace's
// configmaps while writers goroutines create writes configmaps in it.
type watchLatency struct {
	e        *env
	ns       string
	writes   int
	watchers int
	writers  int
	sent     []atomic.Int64 // UnixNano just before object i's create was sent
}

// measureWatch runs writes creates on writers goroutines under watchers client-go watches (each on
// its own connection, protobuf, as kubelets and controllers watch) and one raw etcd watch.
func measureWatch(tb testing.TB, b *testing.B, e *env, writes, watchers, writers int) watchResult {
	tb.Helper()
	wl := &watchLatency{e: e, ns: e.namespace(tb, "watch"), writes: writes, watchers: watchers, writers: writers, sent: make([]atomic.Int64, writes)}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cm, err := e.json.CoreV1().ConfigMaps(wl.ns).Create(ctx, configMap(wl.ns, "start"), metav1.CreateOptions{})
	if err != nil {
		tb.Fatalf("create start marker: %v", err)
	}
	streams := wl.openWatches(tb, ctx, cm.ResourceVersion)
	rev, _ := strconv.ParseInt(cm.ResourceVersion, 10, 64)
	etcdLat := make(chan []time.Duration, 1)
	go func() { etcdLat <- wl.etcdWatch(ctx, rev+1) }()
	kliteLat := make(chan []time.Duration, watchers)
	for _, w := range streams {
		go func() { kliteLat <- wl.consume(w) }()
	}
	if b != nil {
		b.ResetTimer()
		b.StartTimer()
	}
	d, err := parallel(writes, writers, wl.write(ctx))
	if b != nil {
		b.StopTimer()
	}
	if err != nil {
		tb.Fatalf("write: %v", err)
	}
	var all []time.Duration
	for range watchers {
		lat := <-kliteLat
		if len(lat) != writes {
			tb.Fatalf("a watcher saw %d of %d events", len(lat), writes)
		}
		all = append(all, lat...)
	}
	el := <-etcdLat
	if len(el) != writes {
		tb.Fatalf("the etcd watch saw %d of %d events", len(el), writes)
	}
	for _, w := range streams {
		w.Stop()
	}
	return watchResult{writes: writes, watchers: watchers, writeRate: rate(writes, d),
		klite50: percentile(all, 50), klite99: percentile(all, 99), etcd50: percentile(el, 50), etcd99: percentile(el, 99)}
}

// openWatches starts the client-go watches from rv, each over its own TCP connection.
func (wl *watchLatency) openWatches(tb testing.TB, ctx context.Context, rv string) []watch.Interface {
	tb.Helper()
	streams := make([]watch.Interface, 0, wl.watchers)
	for range wl.watchers {
		cfg := restConfig(wl.e.cluster.Config, true)
		d := &net.Dialer{}
		cfg.Dial = d.DialContext // a Dial of its own keeps client-go from sharing the connection
		c, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			tb.Fatalf("client: %v", err)
		}
		w, err := c.CoreV1().ConfigMaps(wl.ns).Watch(ctx, metav1.ListOptions{ResourceVersion: rv})
		if err != nil {
			tb.Fatalf("watch: %v", err)
		}
		streams = append(streams, w)
	}
	return streams
}

// write returns the writer's create of object i, stamping its send time first.
func (wl *watchLatency) write(ctx context.Context) func(i int) error {
	return func(i int) error {
		wl.sent[i].Store(time.Now().UnixNano())
		_, err := wl.e.json.CoreV1().ConfigMaps(wl.ns).Create(ctx, configMap(wl.ns, fmt.Sprintf("obj-%d", i)), metav1.CreateOptions{})
		return err
	}
}

// latency is the time since object name's create was sent.
func (wl *watchLatency) latency(now time.Time, name string) (time.Duration, bool) {
	i, err := strconv.Atoi(strings.TrimPrefix(name, "obj-"))
	if err != nil || i < 0 || i >= wl.writes {
		return 0, false
	}
	return now.Sub(time.Unix(0, wl.sent[i].Load())), true
}

// consume reads one watch until it has seen every write (or it ends).
func (wl *watchLatency) consume(w watch.Interface) []time.Duration {
	lat := make([]time.Duration, 0, wl.writes)
	for ev := range w.ResultChan() {
		now := time.Now()
		cm, ok := ev.Object.(*corev1.ConfigMap)
		if ev.Type != watch.Added || !ok {
			continue
		}
		if d, ok := wl.latency(now, cm.Name); ok {
			lat = append(lat, d)
		}
		if len(lat) == wl.writes {
			break
		}
	}
	return lat
}

// etcdWatch reads a raw etcd watch of the namespace's configmap keys from rev until it has seen
// every write.
func (wl *watchLatency) etcdWatch(ctx context.Context, rev int64) []time.Duration {
	prefix := fmt.Sprintf("/registry/configmaps/%s/", wl.ns)
	lat := make([]time.Duration, 0, wl.writes)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for resp := range wl.e.etcd.Watch(ctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(rev)) {
		now := time.Now()
		for _, ev := range resp.Events {
			if d, ok := wl.latency(now, strings.TrimPrefix(string(ev.Kv.Key), prefix)); ok && ev.IsCreate() {
				lat = append(lat, d)
			}
		}
		if len(lat) >= wl.writes {
			break
		}
	}
	return lat
}

// BenchmarkWatchLatency measures write-to-event latency with 100 client-go watchers and 16
// writers against etcd's own watch of the same writes; b.N is the number of writes.
func BenchmarkWatchLatency(b *testing.B) {
	e := startEnv(b)
	b.Run("watchers100/writers16", func(b *testing.B) {
		measureWatch(b, b, e, b.N, 100, 16).report(b)
	})
}
