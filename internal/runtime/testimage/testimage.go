// Package testimage builds small real images for klite's runtime tests: a
// busybox image from Debian's busybox-static binary, served by an in-process
// registry on 127.0.0.1. The machine needs `apt-get install -y busybox-static`
// (see ../install-test-deps.sh); tests skip with that reason when it is missing.
package testimage

import (
	"archive/tar"
	"bytes"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// BusyboxPath is where Debian's busybox-static installs its binary.
const BusyboxPath = "/bin/busybox"

// Applets get a symlink in /bin of the busybox image.
var Applets = []string{"sh", "ls", "cat", "echo", "sleep", "hostname", "ip", "ps", "id",
	"env", "true", "false", "httpd", "touch", "mkdir", "rm", "head", "nc", "wget", "dd", "grep", "test", "kill", "mount"}

// File is one entry of a test layer.
type File struct {
	Name     string
	Type     byte // tar.TypeReg (default), TypeDir, TypeSymlink
	Body     string
	Linkname string
	Mode     int64
}

// RequireBusybox skips the test when busybox-static is not installed.
func RequireBusybox(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(BusyboxPath)
	if err != nil {
		t.Skipf("skipping: %s missing (run internal/runtime/install-test-deps.sh: apt-get install -y busybox-static): %v", BusyboxPath, err)
	}
	return data
}

// Layer returns an uncompressed-tar layer holding files.
func Layer(t testing.TB, files []File) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: f.Name, Typeflag: f.Type, Mode: f.Mode, Linkname: f.Linkname,
			Size: int64(len(f.Body)), ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Typeflag != tar.TypeReg {
			hdr.Size = 0
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
			if hdr.Typeflag == tar.TypeDir {
				hdr.Mode = 0o755
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, f.Body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// BusyboxFiles is the busybox image's only layer.
func BusyboxFiles(t testing.TB) []File {
	bin := RequireBusybox(t)
	files := []File{
		{Name: "bin/", Type: tar.TypeDir},
		{Name: "bin/busybox", Body: string(bin), Mode: 0o755},
		{Name: "etc/", Type: tar.TypeDir},
		{Name: "etc/passwd", Body: "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n"},
		{Name: "etc/group", Body: "root:x:0:\nnogroup:x:65534:\n"},
		{Name: "tmp/", Type: tar.TypeDir, Mode: 0o1777},
		{Name: "root/", Type: tar.TypeDir, Mode: 0o700},
	}
	for _, a := range Applets {
		files = append(files, File{Name: "bin/" + a, Type: tar.TypeSymlink, Linkname: "busybox"})
	}
	return files
}

// Busybox builds the busybox image; extra layers are appended on top.
func Busybox(t testing.TB, extra ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, append([]v1.Layer{Layer(t, BusyboxFiles(t))}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", goarch()
	cf.Config = v1.Config{Cmd: []string{"sh"}, Env: []string{"PATH=/bin", "IMAGE_VAR=from-image"}, WorkingDir: "/"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Registry starts an in-process registry on 127.0.0.1 and returns its host:port.
func Registry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// Push writes img to ref ("host:port/repo:tag") and returns its manifest digest.
func Push(t testing.TB, ref string, img v1.Image) v1.Hash {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
