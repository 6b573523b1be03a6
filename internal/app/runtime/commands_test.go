package runtime

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/klite/klite/internal/runtime/testimage"
)

func TestMain(m *testing.M) {
	if MaybeRunHelper() {
		return
	}
	if code, ok := maybeRunCommand(); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func klite(t *testing.T, ctx context.Context, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "klite", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(Commands()...)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

func TestImageImportListRemove(t *testing.T) {
	tag, _ := name.NewTag("example.com/tools/app:v1")
	tarPath := filepath.Join(t.TempDir(), "app.tar")
	if err := tarball.WriteToFile(tarPath, tag, testimage.Busybox(t)); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	ctx := context.Background()
	out, err := klite(t, ctx, "image", "--root", root, "import", tarPath)
	if err != nil || !strings.Contains(out, "imported") || !strings.Contains(out, "example.com/tools/app:v1") {
		t.Fatalf("import: %q, %v", out, err)
	}
	out, err = klite(t, ctx, "image", "ls", "--root", root)
	if err != nil || !regexpMatch(out, `example.com/tools/app\s+v1\s+[0-9a-f]{13}\s+\d`) {
		t.Fatalf("ls: %q, %v", out, err)
	}
	if _, err := klite(t, ctx, "image", "rm", "--root", root, "example.com/tools/app:v1"); err != nil {
		t.Fatal(err)
	}
	out, _ = klite(t, ctx, "image", "ls", "--root", root)
	if strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("ls after rm: %q", out)
	}
	if _, err := klite(t, ctx, "image", "rm", "--root", root, "example.com/tools/app:v1"); err == nil {
		t.Error("rm of a missing image succeeded")
	}
}

func TestRuntimeCommandServesCRI(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "run", "cri.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := klite(t, ctx, "runtime", "--root", filepath.Join(dir, "root"), "--listen", sock,
			"--runc-root", filepath.Join(dir, "runc"), "--bridge", "kapp0", "--cgroup-root", "/klite-app-test")
		done <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("socket never appeared")
		}
	}
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	v, err := runtimeapi.NewRuntimeServiceClient(conn).Version(ctx, &runtimeapi.VersionRequest{})
	if err != nil || v.RuntimeName != "klite" {
		t.Fatalf("Version = %v, %v", v, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("runtime command: %v", err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Error("socket left after shutdown")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Options)
		ok     bool
	}{
		{"defaults", func(*Options) {}, true},
		{"no root", func(o *Options) { o.Root = "" }, false},
		{"no socket", func(o *Options) { o.Listen = "" }, false},
		{"bad cidr", func(o *Options) { o.PodCIDR = "10.42.0.0" }, false},
		{"one log file", func(o *Options) { o.LogMaxFiles = 1 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions()
			tc.mutate(o)
			if err := o.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestSplitTagAndSize(t *testing.T) {
	for in, want := range map[string][2]string{
		"docker.io/library/busybox:1": {"docker.io/library/busybox", "1"},
		"reg:5000/app:v2":             {"reg:5000/app", "v2"},
		"reg:5000/app":                {"reg:5000/app", "<none>"},
	} {
		if r, tag := splitTag(in); r != want[0] || tag != want[1] {
			t.Errorf("splitTag(%s) = %s %s", in, r, tag)
		}
	}
	if got := humanSize(1536); got != "1.5KiB" {
		t.Errorf("humanSize(1536) = %s", got)
	}
}

func regexpMatch(s, re string) bool { return regexp.MustCompile(re).MatchString(s) }
