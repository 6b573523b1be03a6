package kubelet

import (
	"context"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/klite/klite/internal/runtime/testimage"
)

func TestImageGCCandidates(t *testing.T) {
	now := time.Now()
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	g := &imageGC{minAge: 2 * time.Minute, records: map[string]*imageRecord{
		"used-long-ago":    {firstDetected: ago(time.Hour), lastUsed: ago(50 * time.Minute)},
		"used-recently":    {firstDetected: ago(time.Hour), lastUsed: ago(5 * time.Minute)},
		"never-used-old":   {firstDetected: ago(30 * time.Minute)},
		"never-used-older": {firstDetected: ago(40 * time.Minute)},
		"in-use":           {firstDetected: ago(time.Hour), lastUsed: now},
		"pinned":           {firstDetected: ago(time.Hour), pinned: true},
		"too-young":        {firstDetected: ago(time.Minute)},
	}}
	var got []string
	for _, c := range g.candidates(map[string]bool{"in-use": true}, now) {
		got = append(got, c.id)
	}
	want := "never-used-older,never-used-old,used-long-ago,used-recently"
	if strings.Join(got, ",") != want {
		t.Errorf("candidates = %v, want %s (least recently used first; in-use, pinned and young kept)", got, want)
	}
}

// TestImageGarbageCollection: with the high threshold at 1% (met on any
// machine) image GC removes an image no container uses once it is older
// than the minimum age, and keeps the image a running pod uses.
func TestImageGarbageCollection(t *testing.T) {
	const minAge = 3 * time.Second
	e := newEnv(t, func(c *Config) {
		c.EvictionHard = []Threshold{}
		c.ImageGCHighThresholdPercent, c.ImageGCLowThresholdPercent = 1, 1
		c.ImageMinimumGCAge, c.ImageGCPeriod, c.EvictionMonitoringPeriod = minAge, 300*time.Millisecond, 300*time.Millisecond
	})
	e.create(e.pod("user", "sleep 3600"))
	e.waitPod("user", 60*time.Second, "Running", running)

	unused := strings.Replace(e.image, "busybox:1.36", "unused:1", 1)
	testimage.Push(t, unused, testimage.Busybox(t, testimage.Layer(t, []testimage.File{{Name: "marker", Body: "unused"}})))
	ctx := context.Background()
	if _, err := e.cfg.Images.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: unused}}); err != nil {
		t.Fatal(err)
	}
	pulled := time.Now()
	for e.imagePresent(unused) {
		if time.Since(pulled) > 30*time.Second {
			t.Fatal("unused image was not garbage collected")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if age := time.Since(pulled); age < minAge-time.Second {
		t.Errorf("unused image removed %v after its pull, before the minimum age %v", age, minAge)
	}
	if !e.imagePresent(e.image) {
		t.Error("the image of a running pod was garbage collected")
	}
}

func (e *env) imagePresent(ref string) bool {
	e.t.Helper()
	resp, err := e.cfg.Images.ImageStatus(context.Background(), &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: ref}})
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.Image != nil
}
