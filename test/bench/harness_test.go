package bench

import (
	"os"
	"path/filepath"
	"testing"
)

// TestHarness runs every measurement once at tiny sizes, so that `go test` (without -bench) proves
// the benchmarks work — clusters start, every write is seen, baselines read the same data — in a
// few seconds.
func TestHarness(t *testing.T) {
	e := startEnv(t)
	bin := filepath.Join(t.TempDir(), "klite")
	kliteBin := func(t *testing.T) string { // built once, for the memory checks
		if _, err := os.Stat(bin); err != nil {
			buildKliteTo(t, bin)
		}
		return bin
	}
	t.Run("create", func(t *testing.T) {
		for _, kind := range []string{kindConfigMap, kindPod} {
			r := measureCreates(t, nil, e, kind, kind == kindPod, 20, 4)
			if r.kliteRate() <= 0 || r.etcdRate() <= 0 || r.payloadBytes < 100 {
				t.Errorf("%s: implausible result %+v", kind, r)
			}
		}
	})
	t.Run("list", func(t *testing.T) {
		ns := e.seedPods(t, 30)
		r := measureList(t, nil, e, ns, 30, 3)
		if r.klite <= 0 || r.etcd <= 0 || r.bytes < 30*1000 {
			t.Errorf("implausible result %+v", r)
		}
	})
	t.Run("watch", func(t *testing.T) {
		r := measureWatch(t, nil, e, 20, 5, 4, 500)
		if r.klite99 < r.klite50 || r.etcd99 < r.etcd50 || r.klite50 <= 0 || r.etcd50 <= 0 {
			t.Errorf("implausible result %+v", r)
		}
	})
	t.Run("memory", func(t *testing.T) {
		r := measureMemory(t, kliteBin(t), 20, 0)
		if r.idleMB < 10 || r.loadedMB < 10 || r.peakMB < r.loadedMB {
			t.Errorf("implausible result %+v", r)
		}
	})
	t.Run("agent-memory", func(t *testing.T) {
		requireAgentHost(t)
		r := measureAgentMemory(t, kliteBin(t), 2, 0)
		if r.idle.rssMB < 10 || r.loaded.rssMB < 10 || r.idle.pssMB <= 0 || r.loaded.pssMB > r.loaded.rssMB ||
			r.pause.pssMB <= 0 || r.shim.pssMB <= r.pause.pssMB {
			t.Errorf("implausible result %+v", r)
		}
	})
}
