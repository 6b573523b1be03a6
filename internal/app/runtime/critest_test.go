package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/klite/klite/internal/runtime/testimage"
	"github.com/klite/klite/internal/runtime/testnetns"
)

// critestFocus selects the core critest specs, all of which klite passes:
// runtime info, pod sandbox and container lifecycle, exec (sync and
// streamed), attach, logs, OOM, idempotence, image pull/status/list/remove,
// no_new_privs. critestSkip leaves out the one image spec whose upstream
// digest a substitute image cannot have. internal/runtime/README.md lists
// every spec's result. KLITE_CRITEST_FOCUS overrides the focus (".*": all).
var (
	critestFocus = []string{
		`Runtime info`,
		`PodSandbox runtime should support basic operations on PodSandbox`,
		`Container runtime should support basic operations on container`,
		`Container runtime should support log`,
		`Container OOM`,
		`Multiple Containers .* should support container (exec|log)`,
		`Streaming runtime should support streaming interfaces runtime should support (exec|attach)`,
		`Idempotence`,
		`Image Manager`,
		`Image Consistency`,
		`Image Identifier Consistency`,
		`Security Context NoNewPrivs`,
	}
	critestSkip = `public image with digest|benchmark`
	// critestCoreSpecs is how many specs critestFocus selects in critest
	// v1.37.0: fewer would mean the focus no longer matches what it names.
	critestCoreSpecs = 51

	// critestPodNetworkFocus selects the specs whose client side reaches
	// pods over the pod network (a pod's IP, a host port on 127.0.0.1):
	// critest runs them from inside the namespace holding the node bridge,
	// the node's network as far as pods are concerned.
	critestPodNetworkFocus = []string{
		`Networking runtime should support networking runtime should support port mapping`,
		`Multiple Containers .* should support network`,
		`Streaming runtime should support streaming interfaces runtime should support portforward \[Conformance\]`,
	}
	critestPodNetworkSpecs = 4
)

// critestRegistries are the registries critest's images are named on;
// the runtime pulls them from the test's registry on 127.0.0.1 instead
// (--registry-mirror), so the images keep their names. critest's own
// --registry-prefix cannot be used: it drops every image's tag.
var critestRegistries = []string{"registry.k8s.io", "gcr.io", "k8s.gcr.io"}

// TestCritest runs the CRI validation suite (critest, from cri-tools)
// against `klite runtime`, with its test images served from a registry on
// 127.0.0.1: the core specs from the test's own network namespace (where
// hostNetwork pods and the streaming server are), then the pod network
// specs from the node bridge's.
func TestCritest(t *testing.T) {
	t.Parallel() // its own runtime, network namespace, cgroup root and registry
	bin := requireTool(t, "critest")
	registry := testimage.Registry(t)
	var mirrors []string
	for _, reg := range critestRegistries {
		mirrors = append(mirrors, "--registry-mirror", reg+"="+registry)
	}
	r := startRuntime(t, "critest", mirrors...)
	pushCritestImages(t, registry)
	focus, skip, want := strings.Join(critestFocus, "|"), critestSkip, critestCoreSpecs
	if f := os.Getenv("KLITE_CRITEST_FOCUS"); f != "" {
		focus, skip, want = f, "benchmark", 1
	}
	podNetwork := strings.Join(critestPodNetworkFocus, "|")
	runs := []critestRun{
		r.critest(t, bin, "", focus, skip+"|"+podNetwork),
		r.critest(t, bin, r.netns, podNetwork, skip),
	}
	want += critestPodNetworkSpecs
	var passed, failed []string
	var out strings.Builder
	var errs []error
	for _, run := range runs {
		passed, failed = append(passed, run.passed...), append(failed, run.failed...)
		out.WriteString(tail(run.out, 150))
		errs = append(errs, run.err)
	}
	t.Logf("critest: %d passed, %d failed (want %d passed)", len(passed), len(failed), want)
	if path := os.Getenv("KLITE_CRITEST_RESULTS"); path != "" {
		writeResults(t, path, passed, failed)
		_ = os.WriteFile(path+".log", []byte(out.String()), 0o644)
	}
	if err := errors.Join(errs...); err != nil || len(failed) > 0 || len(passed) < want {
		t.Errorf("critest: %v; failed specs:\n  %s\noutput:\n%s", err, strings.Join(failed, "\n  "), out.String())
	}
}

// critestRun is one critest invocation's outcome.
type critestRun struct {
	passed, failed []string
	out            string
	err            error
}

// critest runs critest's specs matching focus and not skip against the
// rig's runtime, inside the network namespace netns when one is given
// (the streaming server is relayed into it).
func (r *rig) critest(t *testing.T, bin, netns, focus, skip string) critestRun {
	t.Helper()
	report := filepath.Join(t.TempDir(), "report.json")
	cmd := exec.Command(bin, "-runtime-endpoint", "unix://"+r.sock, "-image-endpoint", "unix://"+r.sock,
		"-config", "/dev/null",
		"-ginkgo.focus", focus, "-ginkgo.skip", skip, "-ginkgo.no-color", "-ginkgo.json-report", report,
		"-ginkgo.timeout", "10m")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := cmd.Start
	if netns != "" {
		relayStreaming(t, netns, r.streamingAddr(t))
		start = func() error { return testnetns.Start(netns, cmd) }
	}
	run := critestRun{err: start()}
	if run.err == nil {
		run.err = cmd.Wait()
	}
	run.out = out.String()
	run.passed, run.failed = critestResults(t, report)
	return run
}

// streamingAddr returns the host:port of the runtime's streaming server,
// from the port-forward URL of a throwaway hostNetwork sandbox.
func (r *rig) streamingAddr(t *testing.T) string {
	t.Helper()
	conn, err := grpc.NewClient("unix://"+r.sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rt := runtimeapi.NewRuntimeServiceClient(conn)
	sb, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: "streaming-addr", Namespace: "rig", Uid: "rig-streaming-addr"},
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE}}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.PodSandboxId}); err != nil {
			t.Error(err)
		}
	}()
	pf, err := rt.PortForward(ctx, &runtimeapi.PortForwardRequest{PodSandboxId: sb.PodSandboxId})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(pf.Url)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// relayStreaming serves addr inside the network namespace netns too,
// relaying each connection to addr in the test's own namespace, where the
// streaming server listens, until the test ends.
func relayStreaming(t *testing.T, netns, addr string) {
	t.Helper()
	ln, err := testnetns.Listen(netns, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		defer wg.Wait()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { relayConn(c, addr) })
		}
	}()
}

// relayConn copies between c and a new connection to addr until either
// side is done.
func relayConn(c net.Conn, addr string) {
	defer c.Close()
	up, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	go func() {
		_, _ = io.Copy(up, c)
		_ = up.(*net.TCPConn).CloseWrite()
	}()
	_, _ = io.Copy(c, up)
}

// critestResults reads ginkgo's JSON report: the names of passed and failed specs.
func critestResults(t *testing.T, report string) (passed, failed []string) {
	t.Helper()
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("critest wrote no report: %v", err)
	}
	var suites []struct {
		SpecReports []struct {
			ContainerHierarchyTexts []string
			LeafNodeText            string
			LeafNodeType            string
			State                   string
		}
	}
	if err := json.Unmarshal(b, &suites); err != nil {
		t.Fatal(err)
	}
	for _, s := range suites {
		for _, sr := range s.SpecReports {
			if sr.LeafNodeType != "It" {
				continue
			}
			name := strings.Join(append(slices.Clone(sr.ContainerHierarchyTexts), sr.LeafNodeText), " ")
			switch sr.State {
			case "passed":
				passed = append(passed, name)
			case "skipped", "pending":
			default:
				failed = append(failed, name+" ("+sr.State+")")
			}
		}
	}
	slices.Sort(passed)
	slices.Sort(failed)
	return passed, failed
}

func writeResults(t *testing.T, path string, passed, failed []string) {
	var b strings.Builder
	for _, p := range passed {
		fmt.Fprintf(&b, "pass %s\n", p)
	}
	for _, f := range failed {
		fmt.Fprintf(&b, "FAIL %s\n", f)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Error(err)
	}
}
