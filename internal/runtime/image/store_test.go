package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/klite/klite/internal/runtime/testimage"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(Config{Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPullFromRegistry(t *testing.T) {
	host := testimage.Registry(t)
	img := testimage.Busybox(t)
	digest := testimage.Push(t, host+"/test/busybox:1.0", img)
	cfgName, _ := img.ConfigName()
	s := newStore(t)

	got, err := s.Pull(context.Background(), host+"/test/busybox:1.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != cfgName.String() {
		t.Errorf("ID = %s, want config digest %s", got.ID, cfgName)
	}
	wantTag, wantDigest := host+"/test/busybox:1.0", host+"/test/busybox@"+digest.String()
	if len(got.RepoTags) != 1 || got.RepoTags[0] != wantTag {
		t.Errorf("RepoTags = %v, want [%s]", got.RepoTags, wantTag)
	}
	if len(got.RepoDigests) != 1 || got.RepoDigests[0] != wantDigest {
		t.Errorf("RepoDigests = %v, want [%s]", got.RepoDigests, wantDigest)
	}
	if got.Size <= 0 || got.Config.Cmd[0] != "sh" {
		t.Errorf("size %d, config %+v", got.Size, got.Config)
	}
	lower := s.LowerDirs(got)
	fi, err := os.Stat(filepath.Join(lower[0], "bin/busybox"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("unpacked busybox: %v %v", fi, err)
	}
	if l, err := os.Readlink(filepath.Join(lower[0], "bin/sh")); err != nil || l != "busybox" {
		t.Errorf("bin/sh link = %q, %v", l, err)
	}

	for _, ref := range []string{wantTag, wantDigest, got.ID, got.ID[7:19]} {
		if r, err := s.Get(ref); err != nil || r.ID != got.ID {
			t.Errorf("Get(%q) = %v, %v", ref, r, err)
		}
	}
	if _, err := s.Get("sha256:0000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(unknown) err = %v, want ErrNotFound", err)
	}
	if b, n, err := s.FsUsage(); err != nil || b < uint64(fi.Size()) || n == 0 {
		t.Errorf("FsUsage = %d bytes %d inodes, %v", b, n, err)
	}

	if err := s.Remove(wantTag); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(got.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("after Remove Get err = %v", err)
	}
	if _, err := os.Stat(lower[0]); !os.IsNotExist(err) {
		t.Errorf("layer dir still there after remove: %v", err)
	}
}

func TestLayersUnpackedOnce(t *testing.T) {
	host := testimage.Registry(t)
	base := testimage.Busybox(t)
	withExtra := testimage.Busybox(t, testimage.Layer(t, []testimage.File{{Name: "extra", Body: "x"}}))
	testimage.Push(t, host+"/a:1", base)
	testimage.Push(t, host+"/b:1", withExtra)
	s := newStore(t)
	a, err := s.Pull(context.Background(), host+"/a:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(s.LayerDir(a.Layers[0]), "marker")
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := s.Pull(context.Background(), host+"/b:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Layers[0] != a.Layers[0] || len(b.Layers) != 2 {
		t.Fatalf("layers a=%v b=%v", a.Layers, b.Layers)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("shared layer was unpacked again: %v", err)
	}
	// Removing a keeps the layer b still uses.
	if err := s.Remove(a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.LayerDir(a.Layers[0])); err != nil {
		t.Errorf("shared layer removed with a: %v", err)
	}
	imgs, _ := s.List()
	if len(imgs) != 1 || imgs[0].ID != b.ID {
		t.Errorf("List = %v, want only b", imgs)
	}
}

func TestTagMovesToNewImage(t *testing.T) {
	host := testimage.Registry(t)
	s := newStore(t)
	testimage.Push(t, host+"/app:latest", testimage.Busybox(t))
	old, err := s.Pull(context.Background(), host+"/app:latest", nil)
	if err != nil {
		t.Fatal(err)
	}
	testimage.Push(t, host+"/app:latest", testimage.Busybox(t, testimage.Layer(t, []testimage.File{{Name: "v2", Body: "2"}})))
	cur, err := s.Pull(context.Background(), host+"/app:latest", nil)
	if err != nil {
		t.Fatal(err)
	}
	oldNow, err := s.Get(old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(oldNow.RepoTags) != 0 || len(cur.RepoTags) != 1 {
		t.Errorf("old tags %v, new tags %v: the tag must move", oldNow.RepoTags, cur.RepoTags)
	}
	if r, _ := s.Get(host + "/app"); r == nil || r.ID != cur.ID {
		t.Errorf("Get(app) = %v, want new image", r)
	}
}

func TestUnpackWhiteouts(t *testing.T) {
	l := testimage.Layer(t, []testimage.File{
		{Name: "gone/", Type: tar.TypeDir},
		{Name: ".wh.deleted"},
		{Name: "opaque/", Type: tar.TypeDir},
		{Name: "opaque/.wh..wh..opq"},
		{Name: "opaque/new", Body: "new"},
		{Name: "../../escape", Body: "x"},
		{Name: "hard", Type: tar.TypeLink, Linkname: "opaque/new"},
	})
	dir := t.TempDir()
	rc, _ := l.Uncompressed()
	defer rc.Close()
	got, err := Unpack(rc, dir)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := l.DiffID(); got != want {
		t.Errorf("diff id %s, want %s", got, want)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(dir, "deleted"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("whiteout mode %o rdev %d, want char device 0/0", st.Mode, st.Rdev)
	}
	buf := make([]byte, 8)
	n, err := unix.Getxattr(filepath.Join(dir, "opaque"), OpaqueXattr, buf)
	if err != nil || string(buf[:n]) != "y" {
		t.Errorf("opaque xattr = %q, %v", buf[:n], err)
	}
	for _, p := range []string{"opaque/.wh..wh..opq", ".wh.deleted"} {
		if _, err := os.Lstat(filepath.Join(dir, p)); !os.IsNotExist(err) {
			t.Errorf("%s must not be unpacked as a file", p)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "escape")); err != nil {
		t.Errorf("../../escape must land inside the layer: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "hard")); string(b) != "new" {
		t.Errorf("hard link content %q", b)
	}
}

func TestUnpackNeverLeavesTheRoot(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, files := range map[string][]testimage.File{
		"write through symlink": {
			{Name: "link", Type: tar.TypeSymlink, Linkname: outside},
			{Name: "link/passwd", Body: "pwned"},
		},
		"hard link through symlink": {
			{Name: "link", Type: tar.TypeSymlink, Linkname: outside},
			{Name: "stolen", Type: tar.TypeLink, Linkname: "link/secret"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			l := testimage.Layer(t, files)
			rc, _ := l.Uncompressed()
			defer rc.Close()
			if _, err := Unpack(rc, t.TempDir()); err == nil {
				t.Fatal("unpack followed a symlink out of the layer")
			}
			if _, err := os.Stat(filepath.Join(outside, "passwd")); err == nil {
				t.Fatal("file written outside the layer")
			}
		})
	}
	// A directory entry over a symlink replaces the link instead of
	// changing the mode of what it points to.
	l := testimage.Layer(t, []testimage.File{
		{Name: "d", Type: tar.TypeSymlink, Linkname: outside},
		{Name: "d/", Type: tar.TypeDir, Mode: 0o777},
	})
	rc, _ := l.Uncompressed()
	defer rc.Close()
	dir := t.TempDir()
	if _, err := Unpack(rc, dir); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(outside); fi.Mode().Perm() == 0o777 {
		t.Error("directory entry changed the symlink target's mode")
	}
	if fi, err := os.Lstat(filepath.Join(dir, "d")); err != nil || !fi.IsDir() {
		t.Errorf("d is %v, %v; want a directory", fi, err)
	}
}

func TestInsecure(t *testing.T) {
	s := &Store{cfg: Config{InsecureRegistries: []string{"reg.internal:5000", "10.0.0.9"}}}
	for host, want := range map[string]bool{
		"127.0.0.1:5000":    true,
		"localhost:80":      true,
		"[::1]:5000":        true,
		"reg.internal:5000": true,
		"10.0.0.9:443":      true,
		"reg.internal:5001": false,
		"192.168.1.4:5000":  false,
		"docker.io":         false,
	} {
		if got := s.Insecure(host); got != want {
			t.Errorf("Insecure(%s) = %v, want %v", host, got, want)
		}
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"busybox":                    "docker.io/library/busybox:latest",
		"user/app:1":                 "docker.io/user/app:1",
		"reg:5000/a/b":               "reg:5000/a/b:latest",
		"reg:5000/a@sha256:" + zeros: "reg:5000/a@sha256:" + zeros,
	} {
		if got, err := Normalize(in); err != nil || got != want {
			t.Errorf("Normalize(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
}

const zeros = "0000000000000000000000000000000000000000000000000000000000000000"

// Tar writers such as Python's pad the archive to a 10 KiB record; the
// padding after the end-of-archive blocks is part of the diff ID.
func TestUnpackDigestCoversTrailingPadding(t *testing.T) {
	l := testimage.Layer(t, []testimage.File{{Name: "f", Body: "x"}})
	rc, _ := l.Uncompressed()
	data, _ := io.ReadAll(rc)
	padded := append(data, make([]byte, 10240-len(data)%10240)...)
	got, err := Unpack(bytes.NewReader(padded), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if want := sha256.Sum256(padded); got.Hex != hex.EncodeToString(want[:]) {
		t.Errorf("diff id %s does not cover the padding", got)
	}
}

func TestPullThroughMirror(t *testing.T) {
	host := testimage.Registry(t)
	digest := testimage.Push(t, host+"/e2e/busybox:1.0", testimage.Busybox(t))
	s, err := New(Config{Root: t.TempDir(), Mirrors: map[string]string{"registry.example.test": host, "docker.io": host}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ ref, tag, repoDigest string }{
		{"registry.example.test/e2e/busybox:1.0", "registry.example.test/e2e/busybox:1.0", "registry.example.test/e2e/busybox@" + digest.String()},
		{"registry.example.test/e2e/busybox@" + digest.String(), "", "registry.example.test/e2e/busybox@" + digest.String()},
		{"e2e/busybox:1.0", "docker.io/e2e/busybox:1.0", "docker.io/e2e/busybox@" + digest.String()},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			got, err := s.Pull(context.Background(), tc.ref, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.tag != "" && !slices.Contains(got.RepoTags, tc.tag) {
				t.Errorf("RepoTags = %v, want %s (the name asked for, not the mirror's)", got.RepoTags, tc.tag)
			}
			if !slices.Contains(got.RepoDigests, tc.repoDigest) {
				t.Errorf("RepoDigests = %v, want %s", got.RepoDigests, tc.repoDigest)
			}
			if _, err := s.Get(tc.ref); err != nil {
				t.Errorf("Get(%s): %v", tc.ref, err)
			}
		})
	}
	if _, err := s.Pull(context.Background(), "unmirrored.invalid/e2e/busybox:1.0", nil); err == nil {
		t.Error("pull from a registry without a mirror went to the mirror")
	}
}
