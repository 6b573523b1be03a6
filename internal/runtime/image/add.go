package image

import (
	"context"
	"fmt"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// add unpacks img's layers that are not in the store yet and records the
// image with the given tags and repo digests.
func (s *Store) add(ctx context.Context, img v1.Image, tags, repoDigests []string) (*Image, error) {
	cfgName, err := img.ConfigName()
	if err != nil {
		return nil, fmt.Errorf("image config digest: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("image layers: %w", err)
	}
	rec := &Image{ID: cfgName.String(), RepoTags: tags, RepoDigests: repoDigests,
		Config: cfg.Config, Created: time.Now().UTC()}
	for _, l := range layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		diffID, size, err := s.ensureLayer(l)
		if err != nil {
			return nil, err
		}
		rec.Layers = append(rec.Layers, diffID.String())
		rec.Size += size
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.saveLocked(rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// ensureLayer unpacks l unless a layer with its diff ID is already stored.
func (s *Store) ensureLayer(l v1.Layer) (v1.Hash, int64, error) {
	diffID, err := l.DiffID()
	if err != nil {
		return v1.Hash{}, 0, fmt.Errorf("layer diff id: %w", err)
	}
	size, err := l.Size()
	if err != nil {
		return v1.Hash{}, 0, fmt.Errorf("layer size: %w", err)
	}
	dir := s.LayerDir(diffID.String())
	if _, err := os.Stat(dir); err == nil {
		return diffID, size, nil
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return v1.Hash{}, 0, fmt.Errorf("open layer %s: %w", diffID, err)
	}
	defer rc.Close()
	staging, err := os.MkdirTemp(s.cfg.Root+"/layers", ".staging-")
	if err != nil {
		return v1.Hash{}, 0, err
	}
	defer os.RemoveAll(staging) // no-op once renamed
	got, err := Unpack(rc, staging)
	if err != nil {
		return v1.Hash{}, 0, fmt.Errorf("unpack layer %s: %w", diffID, err)
	}
	if got != diffID {
		return v1.Hash{}, 0, fmt.Errorf("layer %s: content has diff id %s", diffID, got)
	}
	if err := os.Rename(staging, dir); err != nil && !os.IsExist(err) {
		if _, serr := os.Stat(dir); serr != nil { // lost a race is fine
			return v1.Hash{}, 0, fmt.Errorf("store layer %s: %w", diffID, err)
		}
	}
	return diffID, size, nil
}
