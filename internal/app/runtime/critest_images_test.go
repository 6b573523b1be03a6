package runtime

import (
	"archive/tar"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/klite/klite/internal/runtime/testimage"
)

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
	push("e2e-test-images/nonewprivs:1.3", nonewprivsImage(t, own("nonewprivs")))
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

// nnpSource is the nonewprivs image's program (upstream's is C): it
// prints the effective uid it runs with. Installed setuid root, it runs
// as root from an unprivileged user unless no_new_privs stops that.
const nnpSource = `package main

import "syscall"

func main() {
	uid, digits := syscall.Geteuid(), ""
	for {
		digits = string(rune('0'+uid%10)) + digits
		if uid /= 10; uid == 0 {
			break
		}
	}
	syscall.Write(1, []byte("Effective uid: "+digits+"\n"))
}
`

// nonewprivsImage stands in for e2e-test-images/nonewprivs: base plus a
// static setuid-root /usr/local/bin/nnp as its entrypoint, built with the
// Go toolchain running the tests.
func nonewprivsImage(t *testing.T, base v1.Image) v1.Image {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module nnp\n\ngo 1.21\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(nnpSource), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goTool(t), "build", "-o", "nnp", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goruntime.GOARCH,
		"GOFLAGS=", "GOTOOLCHAIN=local", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build nnp: %v\n%s", err, out)
	}
	bin, err := os.ReadFile(filepath.Join(dir, "nnp"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(base, testimage.Layer(t, []testimage.File{
		{Name: "usr/local/", Type: tar.TypeDir}, {Name: "usr/local/bin/", Type: tar.TypeDir},
		{Name: "usr/local/bin/nnp", Body: string(bin), Mode: 0o4755}}))
	if err != nil {
		t.Fatal(err)
	}
	return withConfig(t, img, func(c *v1.Config) {
		c.Entrypoint, c.Cmd = []string{"/usr/local/bin/nnp"}, nil
	})
}

// goTool finds the go command: on PATH, or in the GOROOT the tests were
// built with.
func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(goruntime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no go command on PATH or in %s to build the nonewprivs stand-in", filepath.Dir(p))
	}
	return p
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
