package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Annotations naming an image in an OCI layout's index.
const (
	annotationContainerdName = "io.containerd.image.name"
	annotationRefName        = "org.opencontainers.image.ref.name"
)

// Import loads every image of a `docker save` tarball or of an OCI-layout
// tarball at path into the store.
func (s *Store) Import(ctx context.Context, path string) ([]*Image, error) {
	names, err := tarNames(path)
	if err != nil {
		return nil, err
	}
	switch {
	case names["manifest.json"]:
		return s.importDocker(ctx, path)
	case names["oci-layout"] && names["index.json"]:
		return s.importOCI(ctx, path)
	default:
		return nil, fmt.Errorf("import %s: neither a docker save nor an OCI layout tarball", path)
	}
}

func tarNames(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names := map[string]bool{}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		names[filepath.Clean(hdr.Name)] = true
	}
}

func (s *Store) importDocker(ctx context.Context, path string) ([]*Image, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(path) }
	manifest, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	var out []*Image
	for _, desc := range manifest {
		var tag *name.Tag
		var tags []string
		if len(desc.RepoTags) > 0 {
			t, err := name.NewTag(desc.RepoTags[0])
			if err != nil {
				return nil, fmt.Errorf("import %s: %w", path, err)
			}
			tag = &t
			for _, rt := range desc.RepoTags {
				n, err := Normalize(rt)
				if err != nil {
					return nil, err
				}
				tags = append(tags, n)
			}
		} else if len(manifest) > 1 {
			return nil, fmt.Errorf("import %s: untagged image among several", path)
		}
		img, err := tarball.Image(opener, tag)
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", path, err)
		}
		rec, err := s.add(ctx, img, tags, nil)
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", path, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

func (s *Store) importOCI(ctx context.Context, path string) ([]*Image, error) {
	dir, err := os.MkdirTemp(s.cfg.Root, ".import-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := extractPlain(path, dir); err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	var out []*Image
	for _, desc := range im.Manifests {
		img, err := platformImage(idx, desc)
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", path, err)
		}
		rec, err := s.add(ctx, img, ociTags(desc), nil)
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", path, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

// platformImage returns the image desc points at, choosing this machine's
// platform when it points at an index.
func platformImage(idx v1.ImageIndex, desc v1.Descriptor) (v1.Image, error) {
	if !desc.MediaType.IsIndex() {
		return idx.Image(desc.Digest)
	}
	child, err := idx.ImageIndex(desc.Digest)
	if err != nil {
		return nil, err
	}
	cm, err := child.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range cm.Manifests {
		if d.Platform == nil || (d.Platform.OS == "linux" && d.Platform.Architecture == goruntime.GOARCH) {
			return platformImage(child, d)
		}
	}
	return nil, fmt.Errorf("index %s has no image for linux/%s", desc.Digest, goruntime.GOARCH)
}

func ociTags(desc v1.Descriptor) []string {
	for _, key := range []string{annotationContainerdName, annotationRefName} {
		if n, err := name.NewTag(desc.Annotations[key], name.StrictValidation); err == nil {
			return []string{canonical(n)}
		}
	}
	return nil
}

// extractPlain unpacks a tarball of regular files and directories (an OCI
// layout) into dir.
func extractPlain(path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.Clean("/"+hdr.Name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(target, 0o700)
		case tar.TypeReg, tar.TypeRegA:
			if err = os.MkdirAll(filepath.Dir(target), 0o700); err == nil {
				err = writeFile(target, tr)
			}
		}
		if err != nil {
			return err
		}
	}
}
