package runtime

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/klite/klite/internal/runtime/testimage"
)

// critestFocus selects the core critest specs, all of which klite passes:
// runtime info, pod sandbox and container lifecycle, exec (sync and
// streamed), attach, logs, OOM, idempotence, image pull/status/list/remove.
// critestSkip leaves out the one image spec whose upstream digest a
// substitute image cannot have. internal/runtime/README.md lists every
// spec's result. KLITE_CRITEST_FOCUS overrides the focus (".*": all).
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
	}
	critestSkip = `public image with digest|benchmark`
	// critestCoreSpecs is how many specs critestFocus selects in critest
	// v1.37.0: fewer would mean the focus no longer matches what it names.
	critestCoreSpecs = 49
)

// critestRegistries are the registries critest's images are named on;
// the runtime pulls them from the test's registry on 127.0.0.1 instead
// (--registry-mirror), so the images keep their names. critest's own
// --registry-prefix cannot be used: it drops every image's tag.
var critestRegistries = []string{"registry.k8s.io", "gcr.io", "k8s.gcr.io"}

// TestCritest runs the CRI validation suite (critest, from cri-tools)
// against `klite runtime`, with its test images served from a registry on
// 127.0.0.1.
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
	report := filepath.Join(t.TempDir(), "report.json")
	cmd := exec.Command(bin, "-runtime-endpoint", "unix://"+r.sock, "-image-endpoint", "unix://"+r.sock,
		"-config", "/dev/null",
		"-ginkgo.focus", focus, "-ginkgo.skip", skip, "-ginkgo.no-color", "-ginkgo.json-report", report,
		"-ginkgo.timeout", "10m")
	out, err := cmd.CombinedOutput()
	passed, failed := critestResults(t, report)
	t.Logf("critest: %d passed, %d failed (want %d passed)", len(passed), len(failed), want)
	if path := os.Getenv("KLITE_CRITEST_RESULTS"); path != "" {
		writeResults(t, path, passed, failed)
		_ = os.WriteFile(path+".log", out, 0o644)
	}
	if err != nil || len(failed) > 0 || len(passed) < want {
		t.Errorf("critest: %v; failed specs:\n  %s\noutput:\n%s", err, strings.Join(failed, "\n  "), tail(string(out), 150))
	}
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

// pushCritestImages builds substitutes for critest's test images from
// busybox-static and pushes them to registry under their repository
// paths. Every name gets an image of its own (critest checks each one's
// repo tags), but for the names critest expects to share one image.
func pushCritestImages(t *testing.T, registry string) {
	t.Helper()
	base := critestBusybox(t)
	const staging = "k8s-staging-cri-tools/"
	push := func(ref string, img v1.Image) { testimage.Push(t, registry+"/"+ref, img) }
	own := func(ref string) v1.Image { return withLayer(t, base, ref) }
	push("e2e-test-images/busybox:1.29-2", base)
	push("e2e-test-images/nginx:1.14-2", withConfig(t, own("nginx"), func(c *v1.Config) {
		c.Cmd = []string{"nginx", "master process"}
	}))
	push("e2e-test-images/httpd:2.4.39-4", withConfig(t, own("httpd"), func(c *v1.Config) {
		c.Cmd = []string{"sh", "-c", "echo httpd serving /www on :80; exec httpd -f -p 80 -h /www"}
	}))
	push(staging+"hostnet-nginx-"+goruntime.GOARCH+":latest", withConfig(t, own("hostnet-nginx"), func(c *v1.Config) {
		c.Cmd = []string{"httpd", "-f", "-p", "12003", "-h", "/www"} // critest's port for it
	}))
	push("pause:3.9", own("pause")) // registry.k8s.io's and k8s.gcr.io's: one image
	for _, ref := range []string{"test-image-latest:latest", "test-image-tag:test", "test-image-tag:all",
		"test-image-1:latest", "test-image-2:latest", "test-image-3:latest"} {
		push(staging+ref, own(ref))
	}
	tags := own("tags")
	for _, ref := range []string{"test-image-tags:1", "test-image-tags:2", "test-image-tags:3"} {
		push(staging+ref, tags)
	}
	for ref, user := range map[string]string{"test-image-user-uid": "1002", "test-image-user-username": "www-data",
		"test-image-user-uid-group": "1003:users", "test-image-user-username-group": "www-data:www-data",
		"test-image-predefined-group": "1000"} {
		push(staging+ref+":latest", withConfig(t, own(ref), func(c *v1.Config) { c.User = user }))
	}
}

// Stand-ins for what Debian's busybox-static lacks and critest's specs run.
const (
	pgrepScript = `#!/bin/sh
# pgrep NAME: the processes called NAME
for d in /proc/[0-9]*; do
	[ "$(cat "$d/comm" 2>/dev/null)" = "$1" ] && echo "${d#/proc/}"
done
exit 0
`
	ipcsScript = `#!/bin/sh
# ipcs -m: the System V shared memory segments
cat /proc/sysvipc/shm
`
	// nginx serves /www and stays a process called nginx with "master
	// process" in its command line and its pid in /var/run/nginx.pid.
	nginxScript = `#!/bin/sh
mkdir -p /var/run
echo $$ > /var/run/nginx.pid
httpd -p 80 -h /www
while :; do sleep 3600; done
`
)

// critestBusybox is busybox with every applet at its usual path, the
// users critest's images define, and a page for the web-server image, in
// one layer. The applets are hard links, as in the upstream busybox image:
// critest masks /bin/ls, which through a symlink would mask busybox itself.
func critestBusybox(t *testing.T) v1.Image {
	t.Helper()
	bin := testimage.RequireBusybox(t)
	list, err := exec.Command(testimage.BusyboxPath, "--list-full").Output()
	if err != nil {
		t.Fatalf("busybox --list-full: %v", err)
	}
	files := []testimage.File{{Name: "bin/", Type: tar.TypeDir}, {Name: "sbin/", Type: tar.TypeDir},
		{Name: "usr/", Type: tar.TypeDir}, {Name: "usr/bin/", Type: tar.TypeDir}, {Name: "usr/sbin/", Type: tar.TypeDir},
		{Name: "tmp/", Type: tar.TypeDir, Mode: 0o1777}, {Name: "root/", Type: tar.TypeDir, Mode: 0o700},
		{Name: "etc/", Type: tar.TypeDir}, {Name: "www/", Type: tar.TypeDir},
		{Name: "bin/busybox", Body: string(bin), Mode: 0o755},
		{Name: "www/index.html", Body: "<h1>Welcome to nginx!</h1>\n"},
		{Name: "usr/bin/pgrep", Body: pgrepScript, Mode: 0o755}, {Name: "usr/bin/ipcs", Body: ipcsScript, Mode: 0o755},
		{Name: "usr/sbin/nginx", Body: nginxScript, Mode: 0o755},
		{Name: "etc/passwd", Body: "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/www:/bin/sh\n" +
			"user:x:1000:1000::/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n"},
		{Name: "etc/group", Body: "root:x:0:\nwww-data:x:33:\nusers:x:100:\nuser:x:1000:\ngroup50000:x:50000:user\nnogroup:x:65534:\n"}}
	for _, p := range strings.Fields(string(list)) {
		if p != "bin/busybox" {
			files = append(files, testimage.File{Name: p, Type: tar.TypeLink, Linkname: "bin/busybox"})
		}
	}
	img, err := mutate.AppendLayers(empty.Image, testimage.Layer(t, files))
	if err != nil {
		t.Fatal(err)
	}
	return withConfig(t, img, func(c *v1.Config) {
		c.Cmd = []string{"sh"}
		c.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
		c.WorkingDir = "/"
	})
}

func withConfig(t *testing.T, img v1.Image, edit func(*v1.Config)) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", goruntime.GOARCH
	edit(&cf.Config)
	cf.Created = v1.Time{Time: time.Unix(1700000000, 0)}
	out, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func withLayer(t *testing.T, img v1.Image, name string) v1.Image {
	t.Helper()
	out, err := mutate.AppendLayers(img, testimage.Layer(t, []testimage.File{{Name: name, Body: name}}))
	if err != nil {
		t.Fatal(err)
	}
	return out
}
