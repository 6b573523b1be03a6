package controllermanager

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/controller/controllertest"
)

var env *controllertest.Env

func TestMain(m *testing.M) { controllertest.Main(m, &env) }

// startManager runs the controller manager; the returned stop cancels it and fails the test if
// Run does not return cleanly within 10s. It also stops at the end of the test.
func startManager(t *testing.T, mutate func(*Options)) (stop func()) {
	t.Helper()
	o := NewOptions()
	o.LeaderElect = false
	o.RouteKlog = false // several managers run at once here; klog's logger is process-global
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if mutate != nil {
		mutate(o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, env.Config, o) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return 10s after cancel")
		}
	}
	t.Cleanup(stop)
	return stop
}

// leakOptions ignore the test cluster's own goroutines and the HTTP connections client-go
// keeps pooled across clients.
var leakOptions = []goleak.Option{
	goleak.IgnoreTopFunction("golang.org/x/net/http2.(*clientConnReadLoop).run"),
	goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
	goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	goleak.IgnoreAnyFunction("github.com/klite/klite/internal/apiserver.(*Server).serveWatch"),
	goleak.IgnoreAnyFunction("net/http.(*conn).serve"),
	goleak.IgnoreAnyFunction("golang.org/x/net/http2.(*serverConn).serve"),
	goleak.IgnoreAnyFunction("net/http.(*http2serverConn).serve"),
	goleak.IgnoreAnyFunction("net/http.(*http2ClientConn).readLoop"),
	goleak.IgnoreAnyFunction("net/http.(*http2clientConnReadLoop).run"),
}

func TestRunStopsEveryGoroutine(t *testing.T) {
	before := goleak.IgnoreCurrent()
	stop := startManager(t, func(o *Options) {
		o.LeaderElect = true
		o.Identity = "leak-test"
		o.LeaderElectResourceName = "leak-test"
	})
	time.Sleep(2 * time.Second) // let it win the lease and start every controller
	stop()
	goleak.VerifyNone(t, append(leakOptions, before)...)
}

func TestControllersFlag(t *testing.T) {
	tests := []struct {
		flags   []string
		want    []string
		wantErr string
	}{
		{[]string{"*"}, KnownControllers(), ""},
		{[]string{"*", "-garbagecollector"}, without(KnownControllers(), "garbagecollector"), ""},
		{[]string{"deployment", "replicaset"}, []string{"deployment", "replicaset"}, ""},
		{[]string{"nope"}, nil, "unknown controller"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.flags, ","), func(t *testing.T) {
			o := NewOptions()
			o.Controllers = tc.flags
			got, err := o.enabled()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Options)
		ok     bool
	}{
		{"defaults", func(*Options) {}, true},
		{"bad cidr", func(o *Options) { o.ClusterCIDR = "10.42.0.0" }, false},
		{"mask too small", func(o *Options) { o.NodeCIDRMaskSize = 8 }, false},
		{"lease shorter than renew", func(o *Options) { o.LeaderElectLeaseDuration = time.Second }, false},
		{"lease ignored without election", func(o *Options) { o.LeaderElect = false; o.LeaderElectLeaseDuration = time.Second }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions()
			tc.mutate(o)
			if err := o.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestCommandRejectsBadFlags(t *testing.T) {
	cmd := Command()
	cmd.SetArgs([]string{"--controllers=nope", "--kubeconfig=/nonexistent"})
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "unknown controller") {
		t.Fatalf("Execute = %v, want unknown controller", err)
	}
}

func TestCommandFlags(t *testing.T) {
	cmd := Command()
	for _, f := range []string{"kubeconfig", "controllers", "leader-elect", "node-monitor-grace-period", "cluster-cidr", "root-ca-file"} {
		if cmd.Flags().Lookup(f) == nil {
			t.Errorf("flag --%s missing", f)
		}
	}
}

func TestLeaderElectionOnlyLeaderActsAndHandsOver(t *testing.T) {
	ns := env.Namespace(t)
	lease := "cm-" + ns
	elect := func(id string) func(*Options) {
		return func(o *Options) {
			o.LeaderElect, o.Identity, o.LeaderElectResourceName = true, id, lease
			o.LeaderElectLeaseDuration, o.LeaderElectRenewDeadline, o.LeaderElectRetryPeriod = 3*time.Second, 2*time.Second, 200*time.Millisecond
			o.Controllers = []string{"replicaset"}
		}
	}
	stopA := startManager(t, elect("a"))
	holder := func() string {
		l, err := env.Client.CoordinationV1().Leases("kube-system").Get(context.Background(), lease, metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) { return holder() == "a", "holder " + holder() })
	startManager(t, elect("b"))
	controllertest.Never(t, time.Second, func() (bool, string) { return holder() != "a", "holder " + holder() })
	newReplicaSet(t, ns, "first", 1)
	waitPods(t, ns, "first", 1)

	stopA()
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) { return holder() == "b", "holder " + holder() })
	newReplicaSet(t, ns, "second", 2)
	waitPods(t, ns, "second", 2)
}

// A leader that dies without releasing the Lease is replaced once the Lease expires.
func TestLeaderKilledHandsOverAfterLease(t *testing.T) {
	ns := env.Namespace(t)
	lease := "cm-" + ns
	elect := func(id string) func(*Options) {
		return func(o *Options) {
			o.LeaderElect, o.Identity, o.LeaderElectResourceName, o.keepLeaseOnStop = true, id, lease, true
			o.LeaderElectLeaseDuration, o.LeaderElectRenewDeadline, o.LeaderElectRetryPeriod = 3*time.Second, 2*time.Second, 200*time.Millisecond
			o.Controllers = []string{"replicaset"}
		}
	}
	holder := func() string {
		l, err := env.Client.CoordinationV1().Leases("kube-system").Get(context.Background(), lease, metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}
	killA := startManager(t, elect("a"))
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) { return holder() == "a", "holder " + holder() })
	startManager(t, elect("b"))
	killA()
	killed := time.Now()
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) { return holder() == "b", "holder " + holder() })
	if took := time.Since(killed); took > 3*time.Second+2*time.Second {
		t.Fatalf("handover took %s with a 3s lease", took)
	}
	newReplicaSet(t, ns, "after", 1)
	waitPods(t, ns, "after", 1)
}
