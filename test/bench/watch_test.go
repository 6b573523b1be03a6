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
// client-go watcher (or the raw etcd watch) receives its event. fanout is what the API server adds
// on top of etcd: a client-go watcher's receive time minus the raw etcd watch's for the same object.
type watchResult struct {
	writes             int
	watchers           int
	writeRate          float64
	klite50, klite99   time.Duration
	etcd50, etcd99     time.Duration
	fanout50, fanout99 time.Duration
}

// ratio is klite's p99 over etcd's own watch p99 for the same writes.
func (r watchResult) ratio() float64 { return float64(r.klite99) / float64(r.etcd99) }

func (r watchResult) report(b *testing.B) {
	b.ReportMetric(ms(r.klite50), "klite-p50-ms")
	b.ReportMetric(ms(r.klite99), "klite-p99-ms")
	b.ReportMetric(ms(r.etcd50), "etcd-p50-ms")
	b.ReportMetric(ms(r.etcd99), "etcd-p99-ms")
	b.ReportMetric(r.ratio(), "p99-ratio")
	b.ReportMetric(ms(r.fanout50), "fanout-p50-ms")
	b.ReportMetric(ms(r.fanout99), "fanout-p99-ms")
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
	pace     <-chan time.Time // when not nil, each write first takes a tick (an aggregate rate)
	sent     []atomic.Int64   // UnixNano just before object i's create was sent
	etcdSeen []atomic.Int64   // UnixNano when the raw etcd watch delivered object i
}

// receipt is one watcher's receipt of object i's event at UnixNano at.
type receipt struct {
	i  int
	at int64
}

// measureWatch runs writes creates on writers goroutines under watchers client-go watches (each on
// its own connection, protobuf, as kubelets and controllers watch) and one raw etcd watch. The
// writers run closed-loop when perSecond is 0, else at perSecond writes/s between them.
func measureWatch(tb testing.TB, b *testing.B, e *env, writes, watchers, writers, perSecond int) watchResult {
	tb.Helper()
	wl := &watchLatency{e: e, ns: e.namespace(tb, "watch"), writes: writes, watchers: watchers, writers: writers,
		sent: make([]atomic.Int64, writes), etcdSeen: make([]atomic.Int64, writes)}
	if perSecond > 0 {
		tick := time.NewTicker(time.Second / time.Duration(perSecond))
		defer tick.Stop()
		wl.pace = tick.C
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cm, err := e.json.CoreV1().ConfigMaps(wl.ns).Create(ctx, configMap(wl.ns, "start"), metav1.CreateOptions{})
	if err != nil {
		tb.Fatalf("create start marker: %v", err)
	}
	streams := wl.openWatches(tb, ctx, cm.ResourceVersion)
	rev, _ := strconv.ParseInt(cm.ResourceVersion, 10, 64)
	etcdLat := make(chan []time.Duration, 1)
	wctx, stopEtcdWatch := context.WithCancel(ctx)
	defer stopEtcdWatch()
	wch := wl.openEtcdWatch(tb, wctx, rev+1)
	go func() { etcdLat <- wl.etcdWatch(wch) }()
	kliteLat := make(chan []receipt, watchers)
	for _, w := range streams {
		go func() { kliteLat <- wl.consume(w) }()
	}
	var d time.Duration
	timed(b, func() { d, err = parallel(writes, writers, wl.write(ctx)) })
	if err != nil {
		tb.Fatalf("write: %v", err)
	}
	r := wl.collect(tb, etcdLat, kliteLat)
	r.writeRate = float64(writes) / d.Seconds()
	for _, w := range streams {
		w.Stop()
	}
	return r
}

// collect waits for every watch to have seen every write and computes the percentiles.
func (wl *watchLatency) collect(tb testing.TB, etcdLat <-chan []time.Duration, kliteLat <-chan []receipt) watchResult {
	tb.Helper()
	el := <-etcdLat
	if len(el) != wl.writes {
		tb.Fatalf("the etcd watch saw %d of %d events", len(el), wl.writes)
	}
	var all, fanout []time.Duration
	for range wl.watchers {
		rs := <-kliteLat
		if len(rs) != wl.writes {
			tb.Fatalf("a watcher saw %d of %d events", len(rs), wl.writes)
		}
		for _, r := range rs {
			all = append(all, time.Duration(r.at-wl.sent[r.i].Load()))
			fanout = append(fanout, time.Duration(r.at-wl.etcdSeen[r.i].Load()))
		}
	}
	return watchResult{writes: wl.writes, watchers: wl.watchers,
		klite50: percentile(all, 50), klite99: percentile(all, 99), etcd50: percentile(el, 50), etcd99: percentile(el, 99),
		fanout50: percentile(fanout, 50), fanout99: percentile(fanout, 99)}
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
		if wl.pace != nil {
			<-wl.pace
		}
		wl.sent[i].Store(time.Now().UnixNano())
		_, err := wl.e.json.CoreV1().ConfigMaps(wl.ns).Create(ctx, configMap(wl.ns, fmt.Sprintf("obj-%d", i)), metav1.CreateOptions{})
		return err
	}
}

// index is the number of object name, if it is one the writers create.
func (wl *watchLatency) index(name string) (int, bool) {
	i, err := strconv.Atoi(strings.TrimPrefix(name, "obj-"))
	return i, err == nil && i >= 0 && i < wl.writes
}

// consume reads one watch until it has seen every write (or it ends).
func (wl *watchLatency) consume(w watch.Interface) []receipt {
	rs := make([]receipt, 0, wl.writes)
	for ev := range w.ResultChan() {
		now := time.Now().UnixNano()
		cm, ok := ev.Object.(*corev1.ConfigMap)
		if ev.Type != watch.Added || !ok {
			continue
		}
		if i, ok := wl.index(cm.Name); ok {
			rs = append(rs, receipt{i: i, at: now})
		}
		if len(rs) == wl.writes {
			break
		}
	}
	return rs
}

// openEtcdWatch starts a raw etcd watch of the namespace's configmap keys from rev and waits until
// etcd has created it.
func (wl *watchLatency) openEtcdWatch(tb testing.TB, ctx context.Context, rev int64) clientv3.WatchChan {
	tb.Helper()
	wch := wl.e.etcd.Watch(ctx, wl.etcdPrefix(), clientv3.WithPrefix(), clientv3.WithRev(rev), clientv3.WithCreatedNotify())
	if resp := <-wch; !resp.Created {
		tb.Fatalf("etcd watch not created: %v", resp.Err())
	}
	return wch
}

func (wl *watchLatency) etcdPrefix() string { return fmt.Sprintf("/registry/configmaps/%s/", wl.ns) }

// etcdWatch reads the raw etcd watch until it has seen every write.
func (wl *watchLatency) etcdWatch(wch clientv3.WatchChan) []time.Duration {
	prefix := wl.etcdPrefix()
	lat := make([]time.Duration, 0, wl.writes)
	for resp := range wch {
		now := time.Now().UnixNano()
		for _, ev := range resp.Events {
			if i, ok := wl.index(strings.TrimPrefix(string(ev.Kv.Key), prefix)); ok && ev.IsCreate() {
				wl.etcdSeen[i].Store(now)
				lat = append(lat, time.Duration(now-wl.sent[i].Load()))
			}
		}
		if len(lat) >= wl.writes {
			break
		}
	}
	return lat
}

// BenchmarkWatchLatency measures write-to-event latency with 100 client-go watchers and 16
// writers against etcd's own watch of the same writes; b.N is the number of writes. The writers
// run closed-loop (as fast as the server takes them), then paced at 200 writes/s, so that the
// latency is not mostly queueing behind the writes themselves.
func BenchmarkWatchLatency(b *testing.B) {
	e := startEnv(b)
	for _, perSecond := range []int{0, 200} {
		name := "watchers100/writers16/closed-loop"
		if perSecond > 0 {
			name = fmt.Sprintf("watchers100/writers16/paced%d", perSecond)
		}
		b.Run(name, func(b *testing.B) {
			measureWatch(b, b, e, b.N, 100, 16, perSecond).report(b)
		})
	}
}
