package image

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/klite/klite/internal/runtime/testimage"
)

func TestImportDockerSave(t *testing.T) {
	img := testimage.Busybox(t)
	tag, _ := name.NewTag("example.com/tools/busybox:v1")
	path := filepath.Join(t.TempDir(), "save.tar")
	if err := tarball.WriteToFile(path, tag, img); err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	got, err := s.Import(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	cfgName, _ := img.ConfigName()
	if len(got) != 1 || got[0].ID != cfgName.String() || got[0].RepoTags[0] != "example.com/tools/busybox:v1" {
		t.Fatalf("imported %+v", got)
	}
	if _, err := os.Stat(filepath.Join(s.LowerDirs(got[0])[0], "bin/busybox")); err != nil {
		t.Error(err)
	}
}

func TestImportOCILayout(t *testing.T) {
	img := testimage.Busybox(t)
	dir := t.TempDir()
	p, err := layout.Write(filepath.Join(dir, "layout"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		annotationContainerdName: "example.com/oci/busybox:2"})); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "oci.tar")
	tarDir(t, filepath.Join(dir, "layout"), path)
	s := newStore(t)
	got, err := s.Import(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].RepoTags) != 1 || got[0].RepoTags[0] != "example.com/oci/busybox:2" {
		t.Fatalf("imported %+v", got)
	}
	if _, err := s.Get("example.com/oci/busybox:2"); err != nil {
		t.Error(err)
	}
}

func TestImportRejectsOtherTarballs(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "x.tar")
	tarDir(t, dir, path)
	if _, err := newStore(t).Import(context.Background(), path); err == nil {
		t.Fatal("import of a plain tarball succeeded")
	}
}

func tarDir(t *testing.T, src, dst string) {
	t.Helper()
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == src {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		hdr, _ := tar.FileInfoHeader(fi, "")
		hdr.Name = rel
		if err := tw.WriteHeader(hdr); err != nil || !fi.Mode().IsRegular() {
			return err
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		_, err = io.Copy(tw, in)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}
