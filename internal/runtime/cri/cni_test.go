package cri

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/klite/klite/internal/runtime/cni"
)

func TestCRIPodOnCNI(t *testing.T) {
	if _, err := os.Stat(filepath.Join(cni.DefaultBinDirs[1], "bridge")); err != nil {
		t.Skip("skipping: CNI plugins missing (run internal/runtime/install-test-deps.sh: apt-get install -y containernetworking-plugins)")
	}
	confDir, ipamDir := t.TempDir(), t.TempDir()
	conf := fmt.Sprintf(`{"cniVersion": "1.0.0", "name": "cri-cni", "plugins": [
	  {"type": "bridge", "bridge": "kcri1", "isGateway": true,
	   "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": "10.82.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}}]}`, ipamDir)
	if err := os.WriteFile(filepath.Join(confDir, "10-cri.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	c := serveWith(t, confDir, "")
	ctx := context.Background()
	run, err := c.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: "cni", Namespace: "default", Uid: "uid-cni"}, Hostname: "cni"}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: run.PodSandboxId})
	if err != nil || !strings.HasPrefix(st.Status.Network.Ip, "10.82.0.") {
		t.Fatalf("pod IP %v, %v: want one from the CNI range", st, err)
	}
	reserved := filepath.Join(ipamDir, "cri-cni", st.Status.Network.Ip)
	if _, err := os.Stat(reserved); err != nil {
		t.Errorf("no host-local reservation: %v", err)
	}
	if _, err := c.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: run.PodSandboxId}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(reserved); !os.IsNotExist(err) {
		t.Errorf("address still reserved after RemovePodSandbox: %v", err)
	}
}
