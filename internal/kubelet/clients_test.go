package kubelet

import (
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// TestSetClients: the API and event clients get their own limits, the
// heartbeat client none; a rate limiter in the rest config is not shared.
func TestSetClients(t *testing.T) {
	cases := []struct {
		name   string
		limits ClientLimits
		api    float32 // want QPS; 0: no limiter
		events float32
	}{
		{"defaults", DefaultClientLimits(), 50, 50},
		{"own limits", ClientLimits{QPS: 7, Burst: 14, EventQPS: 3, EventBurst: 6}, 7, 3},
		{"unlimited events", ClientLimits{QPS: 20, Burst: 40, EventQPS: -1}, 20, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			rc := &rest.Config{Host: "http://127.0.0.1:1", QPS: 1000, Burst: 2000}
			if err := c.SetClients(rc, tc.limits); err != nil {
				t.Fatal(err)
			}
			for _, x := range []struct {
				what   string
				client kubernetes.Interface
				want   float32
			}{{"api", c.Client, tc.api}, {"events", c.EventClient, tc.events}, {"heartbeat", c.HeartbeatClient, 0}} {
				if got := qps(x.client); got != x.want {
					t.Errorf("%s client: QPS %v, want %v", x.what, got, x.want)
				}
			}
			if rc.QPS != 1000 {
				t.Errorf("SetClients changed the caller's rest config: QPS %v", rc.QPS)
			}
		})
	}
}

// qps is a client's rate limit, 0 for none.
func qps(c kubernetes.Interface) float32 {
	rl := c.CoreV1().RESTClient().GetRateLimiter()
	if rl == nil {
		return 0
	}
	return rl.QPS()
}

func TestClientLimitsValidate(t *testing.T) {
	cases := []struct {
		name    string
		limits  ClientLimits
		wantErr bool
	}{
		{"defaults", DefaultClientLimits(), false},
		{"zero is client-go's default", ClientLimits{}, false},
		{"no limit", ClientLimits{QPS: -1, EventQPS: -1}, false},
		{"negative burst", ClientLimits{QPS: 5, Burst: -1}, true},
		{"negative event burst", ClientLimits{EventQPS: 5, EventBurst: -1}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.limits.Validate(); (err != nil) != tc.wantErr {
				t.Errorf("Validate() = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}
