package watchcache

import (
	"testing"

	"k8s.io/apimachinery/pkg/watch"
)

// TestHistoryRingGrowsThenDropsOldest: the ring starts small, grows to its limit keeping order,
// then forgets the oldest events and reports how far back it remembers.
func TestHistoryRingGrowsThenDropsOldest(t *testing.T) {
	c := New(Config{History: 200})
	if len(c.ring) != 64 {
		t.Fatalf("initial ring %d, want 64", len(c.ring))
	}
	for rev := int64(1); rev <= 500; rev++ {
		c.recordLocked(Event{Type: watch.Added, Rev: rev})
	}
	if len(c.ring) != 200 || c.ringLen != 200 {
		t.Fatalf("ring %d holding %d, want 200/200", len(c.ring), c.ringLen)
	}
	for i := 0; i < c.ringLen; i++ {
		if got := c.ring[(c.ringHead+i)%len(c.ring)].Rev; got != int64(301+i) {
			t.Fatalf("event %d has rev %d, want %d", i, got, 301+i)
		}
	}
	if c.oldest != 300 {
		t.Fatalf("oldest %d, want 300", c.oldest)
	}
}
