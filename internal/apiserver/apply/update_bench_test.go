package apply

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
)

// BenchmarkUpdate times recording the writer of realistic updates, each
// by upstream's general field manager and by Update with its shortcut:
// warm (the entries' sets are cached, as on every write of an object
// after its first) and cold (the cache emptied before each write). The
// shortcut runs report their time as a ratio to the general path's in
// the same run (x-general).
func BenchmarkUpdate(b *testing.B) {
	m := newUpdateManager(b)
	for _, tc := range updateCases() {
		if !benchmarked[tc.name] {
			continue
		}
		live := tc.live(b, m)
		next := live.DeepCopyObject()
		tc.change(next)
		var general time.Duration
		b.Run(tc.name+"/general", func(b *testing.B) {
			general = runUpdates(b, next, func(in runtime.Object) {
				generalUpdate(b, m, live, in, tc.gvk, tc.sub, tc.manager)
			})
		})
		for _, cold := range []bool{false, true} {
			name := tc.name + "/shortcut"
			if cold {
				name += "-cold"
			}
			b.Run(name, func(b *testing.B) {
				sets := m.updaters[target{tc.gvk, tc.sub}].sets
				per := runUpdates(b, next, func(in runtime.Object) {
					if cold {
						sets.clear()
					}
					if _, err := m.UpdateSubresource(live, in, tc.gvk, tc.sub, tc.manager); err != nil {
						b.Fatal(err)
					}
				})
				if general > 0 {
					b.ReportMetric(float64(per)/float64(general), "x-general")
				}
			})
		}
	}
}

// benchmarked are the update cases BenchmarkUpdate runs: the writes that
// dominate a cluster's write path.
var benchmarked = map[string]bool{
	"kubelet first pod status":                      true,
	"kubelet pod status running":                    true,
	"kubelet pod status removes fields":             true,
	"pod status write changing nothing":             true,
	"node heartbeat":                                true,
	"node lease renewal":                            true,
	"deployment status":                             true,
	"kubectl label via PUT":                         true,
	"PUT over an applier's spec, generation bumped": true,
	"configmap data by a second manager":            true,
}

// runUpdates times update on fresh copies of next (made with the timer
// stopped) and returns the time per update.
func runUpdates(b *testing.B, next runtime.Object, update func(runtime.Object)) time.Duration {
	const batch = 64
	ins := make([]runtime.Object, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%batch == 0 {
			b.StopTimer()
			for j := range ins {
				ins[j] = next.DeepCopyObject()
			}
			b.StartTimer()
		}
		update(ins[i%batch])
	}
	b.StopTimer()
	return b.Elapsed() / time.Duration(b.N)
}

// clear empties the cache.
func (c *setCache) clear() {
	c.mu.Lock()
	c.cur, c.old = map[string]decodedSet{}, map[string]decodedSet{}
	c.mu.Unlock()
}
