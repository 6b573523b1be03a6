package agent

import (
	"context"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/klite/klite/internal/apiserver/apiservertest"
	"github.com/klite/klite/internal/runtime/cgroups"
	"github.com/klite/klite/internal/runtime/cri"
	"github.com/klite/klite/internal/runtime/shim"
	"github.com/klite/klite/internal/runtime/testnetns"
)

func TestMain(m *testing.M) {
	if shim.MaybeRun() {
		return
	}
	os.Exit(m.Run())
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name, server, token, ca string
		insecure                bool
		errSub                  string
	}{
		{"ok", "https://10.0.0.1:6443", "t", "/ca.crt", false, ""},
		{"insecure explicitly", "https://10.0.0.1:6443", "t", "", true, ""},
		{"no ca", "https://10.0.0.1:6443", "t", "", false, "--ca-file"},
		{"no server", "", "t", "/ca.crt", false, "--server"},
		{"no token", "https://10.0.0.1:6443", "", "/ca.crt", false, "--token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions()
			o.Server, o.Token, o.CAFile, o.InsecureSkipTLSVerify = tc.server, tc.token, tc.ca, tc.insecure
			err := o.Validate()
			if tc.errSub == "" && err != nil || tc.errSub != "" && (err == nil || !strings.Contains(err.Error(), tc.errSub)) {
				t.Errorf("Validate() = %v, want error containing %q", err, tc.errSub)
			}
		})
	}
	if Command().Flags().Lookup("kubeconfig") != nil {
		t.Error("agent exposes --kubeconfig; it joins with --server/--token")
	}
}

// TestKubeletClientCA: the agent's kubelet API trusts clients signed by the
// cluster CA it was given, unless --client-ca-file says otherwise; the
// eviction and image GC flags reach the kubelet.
func TestKubeletClientCA(t *testing.T) {
	cases := []struct {
		name, caFile, clientCA, want string
	}{
		{"from --ca-file", "/srv/ca.crt", "", "/srv/ca.crt"},
		{"explicit --client-ca-file wins", "/srv/ca.crt", "/other/ca.crt", "/other/ca.crt"},
		{"insecure join: none", "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions()
			o.CAFile, o.Kubelet.ClientCAFile = tc.caFile, tc.clientCA
			if got := o.kubeletOptions().ClientCAFile; got != tc.want {
				t.Errorf("kubelet --client-ca-file = %q, want %q", got, tc.want)
			}
			if o.Kubelet.ClientCAFile != tc.clientCA {
				t.Error("kubeletOptions changed the agent's options")
			}
		})
	}
	fs := pflag.NewFlagSet("agent", pflag.ContinueOnError)
	o := NewOptions()
	o.AddFlags(fs)
	if err := fs.Parse([]string{"--eviction-hard=memory.available<1000Ti", "--image-gc-high-threshold=50", "--image-gc-low-threshold=40"}); err != nil {
		t.Fatal(err)
	}
	if o.Kubelet.EvictionHard != "memory.available<1000Ti" || o.Kubelet.ImageGCHighThresholdPercent != 50 || o.Kubelet.ImageGCLowThresholdPercent != 40 {
		t.Errorf("agent flags did not reach the kubelet options: %+v", o.Kubelet)
	}
}

// TestAgentJoins: an agent with the server URL, a token and the server's
// CA registers its node and renews its lease.
func TestAgentJoins(t *testing.T) {
	cluster := apiservertest.StartT(t, apiservertest.Options{})
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cluster.HTTP.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "node-token")
	if err := os.WriteFile(tokenFile, []byte(apiservertest.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The flags go through the command's flag set; Run is called directly because the command
	// also routes klog process-wide, which must not race with this test's own clients.
	o := NewOptions()
	fs := pflag.NewFlagSet("agent", pflag.ContinueOnError)
	o.AddFlags(fs)
	sock := serveCRI(t)
	if err := fs.Parse([]string{"--server", cluster.HTTP.URL, "--token-file", tokenFile, "--ca-file", ca, "--data-dir", dir,
		"--hostname-override", "agent-1", "--port", "0", "--container-runtime-endpoint", sock}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := cluster.Client.CoreV1().Nodes().Get(ctx, "agent-1", metav1.GetOptions{})
		_, lerr := cluster.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, "agent-1", metav1.GetOptions{})
		if err == nil && lerr == nil && len(n.Status.Conditions) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent did not join: %v / %v", err, lerr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("agent: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("agent did not stop after cancel")
	}
}

func serveCRI(t *testing.T) string {
	t.Helper()
	cgroupRoot := fmt.Sprintf("/klite-agent-test-%d", os.Getpid())
	svc, err := cri.New(cri.Config{Root: t.TempDir(), RuncRoot: t.TempDir(), Bridge: "kag0", PodSubnet: "10.83.0.0/24",
		HostNetNS: testnetns.New(t), NFTable: "klite_agent_test", CgroupRoot: cgroupRoot, CNIConfDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "cri.sock")
	ln, err := cri.ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- svc.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-served
		if sbs, err := svc.ListPodSandbox(context.Background(), &runtimeapi.ListPodSandboxRequest{}); err == nil && len(sbs.Items) > 0 {
			t.Errorf("agent test left %d sandboxes", len(sbs.Items))
		}
		_ = svc.RemoveNode()
		svc.Close()
		if cg, err := cgroups.Detect(); err == nil {
			if err := cg.Remove(cgroupRoot); err != nil {
				t.Errorf("cleanup cgroups: %v", err)
			}
		}
	})
	return sock
}
