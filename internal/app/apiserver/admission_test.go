package apiserver

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/klite/klite/internal/kubectltest"

	"go.uber.org/goleak"

	"github.com/klite/klite/internal/storage/etcd"
)

// startServer runs the whole API server (as `klite apiserver` does) over an embedded etcd and
// returns its admin kubeconfig.
func startServer(t *testing.T) string {
	t.Helper()
	kubeconfig, stop := startStoppable(t)
	t.Cleanup(stop)
	return kubeconfig
}

// startStoppable is startServer returning the stop function instead of registering it.
func startStoppable(t *testing.T) (string, func()) {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	e, err := etcd.StartEmbedded(ctx, etcd.EmbedConfig{Dir: dir + "/etcd"})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	o := NewOptions()
	o.DataDir, o.BindAddress, o.SecurePort, o.EtcdServers, o.ShutdownGracePeriod = dir, "127.0.0.1", 0, []string{e.ClientURL}, 1
	ready := make(chan Ready, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, o, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), func(r Ready) { ready <- r })
	}()
	stop := func() {
		cancel()
		<-done
		e.Close()
	}
	select {
	case r := <-ready:
		return r.Kubeconfig, stop
	case err := <-done:
		e.Close()
		t.Fatalf("server stopped: %v", err)
	case <-time.After(60 * time.Second):
		stop()
		t.Fatal("server not ready after 60s")
	}
	return "", nil
}

// TestLoopbackStopsWithTheServer: the admission plugins' loopback connection and informers
// end when the server does.
func TestLoopbackStopsWithTheServer(t *testing.T) {
	before := goleak.IgnoreCurrent()
	_, stop := startStoppable(t)
	stop()
	goleak.VerifyNone(t, before,
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"), // etcd's own closing listeners
		goleak.IgnoreAnyFunction("go.etcd.io/etcd/server/v3/embed.(*Etcd).serveClients"))
}

// TestAdmissionAsKubectlSeesIt drives LimitRanger and ResourceQuota with the real kubectl.
func TestAdmissionAsKubectlSeesIt(t *testing.T) {
	kubectltest.Path(t)
	kubeconfig := startServer(t)
	kubectl := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command("kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	steps := []struct {
		name, stdin string
		args        []string
		want        string // the whole output
		fails       bool
	}{
		{name: "limit range", stdin: limitRange, args: []string{"create", "-f", "-"}, want: "limitrange/limits created"},
		{name: "below the minimum", stdin: podManifest("small", "50m"), args: []string{"create", "-f", "-"}, fails: true,
			want: `Error from server (Forbidden): error when creating "STDIN": pods "small" is forbidden: minimum cpu usage per Container is 100m, but request is 50m`},
		{name: "quota", args: []string{"create", "quota", "q", "--hard=pods=1,requests.cpu=1"}, want: "resourcequota/q created"},
		{name: "quota not counted yet", args: []string{"run", "early", "--image=busybox"}, fails: true,
			want: `Error from server (Forbidden): pods "early" is forbidden: status unknown for quota: q, resources: pods,requests.cpu`},
		{name: "count as the controller would", args: []string{"patch", "quota", "q", "--subresource=status", "--type=merge",
			"-p", `{"status":{"hard":{"pods":"1","requests.cpu":"1"},"used":{"pods":"0","requests.cpu":"0"}}}`}, want: "resourcequota/q patched"},
		{name: "first pod gets the defaults and fits", args: []string{"run", "a", "--image=busybox"}, want: "pod/a created"},
		{name: "second pod exceeds", args: []string{"run", "b", "--image=busybox"}, fails: true,
			want: `Error from server (Forbidden): pods "b" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1`},
		{name: "defaults applied", args: []string{"get", "pod", "a", "-o", "jsonpath={.spec.containers[0].resources}"},
			want: `{"limits":{"cpu":"500m"},"requests":{"cpu":"200m"}}`},
		{name: "usage charged", args: []string{"get", "quota", "q", "-o", "jsonpath={.status.used}"}, want: `{"pods":"1","requests.cpu":"200m"}`},
	}
	for _, s := range steps {
		out, err := kubectl(s.stdin, s.args...)
		if (err != nil) != s.fails || out != s.want {
			t.Fatalf("%s: kubectl %s: err %v\n got: %s\nwant: %s", s.name, strings.Join(s.args, " "), err, out, s.want)
		}
	}
}

const limitRange = `apiVersion: v1
kind: LimitRange
metadata: {name: limits}
spec:
  limits:
  - type: Container
    min: {cpu: 100m}
    default: {cpu: 500m}
    defaultRequest: {cpu: 200m}
`

func podManifest(name, cpu string) string {
	return `apiVersion: v1
kind: Pod
metadata: {name: ` + name + `}
spec:
  containers:
  - name: app
    image: busybox
    resources: {requests: {cpu: ` + cpu + `}}
`
}
