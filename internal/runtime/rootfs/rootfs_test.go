package rootfs

import (
	"archive/tar"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/sys/unix"

	"github.com/klite/klite/internal/runtime/image"
	"github.com/klite/klite/internal/runtime/testimage"
)

// storedImage imports an image of a base layer and a layer that deletes
// and replaces some of its files, and returns the store and the image.
func storedImage(t *testing.T) (*image.Store, *image.Image) {
	t.Helper()
	base := testimage.Layer(t, []testimage.File{
		{Name: "keep", Body: "keep"},
		{Name: "deleted", Body: "old"},
		{Name: "dir/", Type: tar.TypeDir},
		{Name: "dir/old", Body: "old"},
	})
	top := testimage.Layer(t, []testimage.File{
		{Name: ".wh.deleted"},
		{Name: "dir/", Type: tar.TypeDir},
		{Name: "dir/.wh..wh..opq"},
		{Name: "dir/new", Body: "new"},
	})
	img := testimage.Busybox(t, base, top)
	path := filepath.Join(t.TempDir(), "img.tar")
	tag, _ := name.NewTag("example.com/overlay:1")
	if err := tarball.WriteToFile(path, tag, img); err != nil {
		t.Fatal(err)
	}
	s, err := image.New(image.Config{Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := s.Import(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return s, imgs[0]
}

func TestMountAppliesWhiteoutsAndKeepsLayersReadOnly(t *testing.T) {
	s, img := storedImage(t)
	dir := filepath.Join(t.TempDir(), "c1")
	root, err := Mount(dir, s.LowerDirs(img))
	if err != nil {
		t.Fatalf("overlayfs not usable here: %v", err)
	}
	t.Cleanup(func() { _ = Unmount(dir) })

	check := func(p string, want string) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, p))
		switch {
		case want == "" && !os.IsNotExist(err):
			t.Errorf("%s visible (%q, %v), want hidden", p, b, err)
		case want != "" && string(b) != want:
			t.Errorf("%s = %q, %v; want %q", p, b, err, want)
		}
	}
	check("keep", "keep")
	check("deleted", "")
	check("dir/old", "")
	check("dir/new", "new")
	if _, err := os.Stat(filepath.Join(root, "bin/busybox")); err != nil {
		t.Error(err)
	}

	if err := os.WriteFile(filepath.Join(root, "keep"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, l := range s.LowerDirs(img) {
		if b, err := os.ReadFile(filepath.Join(l, "keep")); err == nil && string(b) != "keep" {
			t.Errorf("write reached lower layer %s", l)
		}
	}
	if b, n, err := Usage(dir); err != nil || b != uint64(len("changed")) || n < 2 {
		t.Errorf("Usage = %d bytes %d inodes, %v", b, n, err)
	}

	if err := Unmount(dir); err != nil {
		t.Fatal(err)
	}
	if m, _ := IsMounted(root); m {
		t.Error("rootfs still mounted after Unmount")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("container dir left behind: %v", err)
	}
}

func TestMountTwiceIsNoop(t *testing.T) {
	s, img := storedImage(t)
	dir := filepath.Join(t.TempDir(), "c1")
	if _, err := Mount(dir, s.LowerDirs(img)); err != nil {
		t.Fatalf("overlayfs not usable here: %v", err)
	}
	t.Cleanup(func() { _ = Unmount(dir) })
	if _, err := Mount(dir, s.LowerDirs(img)); err != nil {
		t.Fatal(err)
	}
	if err := Unmount(dir); err != nil {
		t.Fatal(err)
	}
	if m, _ := IsMounted(Path(dir)); m {
		t.Error("still mounted")
	}
	if err := Unmount(dir); err != nil {
		t.Errorf("second Unmount: %v", err)
	}
}

func TestMountWithoutLayersFails(t *testing.T) {
	if _, err := Mount(t.TempDir(), nil); err == nil {
		t.Fatal("mount without layers succeeded")
	}
}

// IsMounted (statx) and the mountinfo fallback agree on mount points and
// the directories below them.
func TestIsMountedAgreesWithMountinfo(t *testing.T) {
	dir := t.TempDir()
	mnt := filepath.Join(dir, "mnt")
	if err := os.MkdirAll(filepath.Join(mnt, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
	if err := os.Mkdir(filepath.Join(mnt, "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{"/": true, "/proc": true, mnt: true, dir: false,
		filepath.Join(mnt, "inside"): false, filepath.Join(dir, "missing"): false} {
		got, err := IsMounted(path)
		if err != nil || got != want {
			t.Errorf("IsMounted(%s) = %v, %v; want %v", path, got, err, want)
		}
		if fromInfo, _ := inMountinfo(path); fromInfo != want {
			t.Errorf("inMountinfo(%s) = %v, want %v", path, fromInfo, want)
		}
	}
}
