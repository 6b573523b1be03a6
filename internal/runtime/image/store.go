package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ErrNotFound is returned when no image matches a reference.
var ErrNotFound = errors.New("image not found")

// Image is one stored image.
type Image struct {
	// ID is the digest of the image's config ("sha256:...").
	ID string `json:"id"`
	// RepoTags are normalised "registry/repo:tag" names.
	RepoTags []string `json:"repoTags,omitempty"`
	// RepoDigests are "registry/repo@sha256:..." manifest digests.
	RepoDigests []string `json:"repoDigests,omitempty"`
	// Layers are the diff IDs of the layers, base layer first.
	Layers []string `json:"layers"`
	// Size is the sum of the layers' (compressed) sizes in bytes.
	Size int64 `json:"size"`
	// Config is the image's runtime configuration (entrypoint, env, user...).
	Config v1.Config `json:"config"`
	// Created is when the image entered the store.
	Created time.Time `json:"created"`
}

// Config configures a Store.
type Config struct {
	// Root is the directory holding the store.
	Root string
	// InsecureRegistries may be reached over plain HTTP (host or host:port).
	// Loopback registries are always allowed.
	InsecureRegistries []string
	// Mirrors maps a registry host as references name it ("docker.io",
	// "registry.k8s.io") to the host[:port] images are fetched from
	// instead; the images keep their names (tags, repo digests).
	Mirrors map[string]string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Store is a content-addressed image store. It is safe for concurrent use.
type Store struct {
	cfg Config
	log *slog.Logger

	mu sync.Mutex // guards image records and layer unpacking
}

// New creates the store's directories and returns the store.
func New(cfg Config) (*Store, error) {
	if cfg.Root == "" {
		return nil, errors.New("image store: root directory is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	for _, d := range []string{"layers", "images"} {
		if err := os.MkdirAll(filepath.Join(cfg.Root, d), 0o700); err != nil {
			return nil, fmt.Errorf("create image store: %w", err)
		}
	}
	return &Store{cfg: cfg, log: cfg.Logger}, nil
}

// Root returns the directory of the store.
func (s *Store) Root() string { return s.cfg.Root }

// LayerDir returns the unpacked directory of the layer with the given diff ID.
func (s *Store) LayerDir(diffID string) string {
	return filepath.Join(s.cfg.Root, "layers", hexOf(diffID))
}

// LowerDirs returns the image's unpacked layers in overlayfs lowerdir order
// (topmost layer first).
func (s *Store) LowerDirs(img *Image) []string {
	dirs := make([]string, 0, len(img.Layers))
	for i := len(img.Layers) - 1; i >= 0; i-- {
		dirs = append(dirs, s.LayerDir(img.Layers[i]))
	}
	return dirs
}

// List returns all stored images, sorted by ID.
func (s *Store) List() ([]*Image, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listLocked()
}

func (s *Store) listLocked() ([]*Image, error) {
	entries, err := os.ReadDir(filepath.Join(s.cfg.Root, "images"))
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var out []*Image
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		img, err := s.readRecord(strings.TrimSuffix(e.Name(), ".json"))
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Get resolves ref — an image ID (full or a hex prefix of at least 12
// characters), a tag ("busybox", "reg:5000/a/b:1") or a digest reference —
// to a stored image. It returns ErrNotFound when nothing matches.
func (s *Store) Get(ref string) (*Image, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.getLocked(ref)
}

func (s *Store) getLocked(ref string) (*Image, error) {
	imgs, err := s.listLocked()
	if err != nil {
		return nil, err
	}
	for _, img := range imgs {
		if matchesID(img.ID, ref) {
			return img, nil
		}
	}
	norm, err := Normalize(ref)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	for _, img := range imgs {
		if contains(img.RepoTags, norm) || contains(img.RepoDigests, norm) {
			return img, nil
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
}

func matchesID(id, ref string) bool {
	if id == ref {
		return true
	}
	h := strings.TrimPrefix(ref, "sha256:")
	return len(h) >= 12 && isHex(h) && strings.HasPrefix(hexOf(id), h)
}

// Remove deletes the image that ref resolves to, and the layers no other
// image uses. The caller must make sure no container's rootfs uses the
// image (as the kubelet's image garbage collector does).
func (s *Store) Remove(ref string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	img, err := s.getLocked(ref)
	if err != nil {
		return err
	}
	if err := os.Remove(s.recordPath(img.ID)); err != nil {
		return fmt.Errorf("remove image %s: %w", img.ID, err)
	}
	return s.removeUnusedLayersLocked(img.Layers)
}

func (s *Store) removeUnusedLayersLocked(candidates []string) error {
	imgs, err := s.listLocked()
	if err != nil {
		return err
	}
	used := map[string]bool{}
	for _, img := range imgs {
		for _, l := range img.Layers {
			used[l] = true
		}
	}
	for _, l := range candidates {
		if used[l] {
			continue
		}
		if err := os.RemoveAll(s.LayerDir(l)); err != nil {
			return fmt.Errorf("remove layer %s: %w", l, err)
		}
	}
	return nil
}

// FsUsage returns the bytes and inodes used by unpacked layers.
func (s *Store) FsUsage() (bytes, inodes uint64, err error) {
	err = filepath.WalkDir(filepath.Join(s.cfg.Root, "layers"), func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		inodes++
		if info, ierr := d.Info(); ierr == nil && info.Mode().IsRegular() {
			bytes += uint64(info.Size())
		}
		return nil
	})
	return bytes, inodes, err
}

// save records img, moving its tags away from any image that had them.
func (s *Store) saveLocked(img *Image) error {
	imgs, err := s.listLocked()
	if err != nil {
		return err
	}
	for _, other := range imgs {
		if other.ID == img.ID {
			img.RepoTags = union(other.RepoTags, img.RepoTags)
			img.RepoDigests = union(other.RepoDigests, img.RepoDigests)
			img.Created = other.Created
			continue
		}
		if err := s.untagLocked(other, img.RepoTags); err != nil {
			return err
		}
	}
	return s.writeRecord(img)
}

func (s *Store) untagLocked(img *Image, tags []string) error {
	kept := img.RepoTags[:0:0]
	for _, t := range img.RepoTags {
		if !contains(tags, t) {
			kept = append(kept, t)
		}
	}
	if len(kept) == len(img.RepoTags) {
		return nil
	}
	img.RepoTags = kept
	return s.writeRecord(img)
}

func (s *Store) recordPath(id string) string {
	return filepath.Join(s.cfg.Root, "images", hexOf(id)+".json")
}

func (s *Store) writeRecord(img *Image) error {
	data, err := json.MarshalIndent(img, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.recordPath(img.ID), data)
}

func (s *Store) readRecord(hex string) (*Image, error) {
	data, err := os.ReadFile(filepath.Join(s.cfg.Root, "images", hex+".json"))
	if err != nil {
		return nil, fmt.Errorf("read image record: %w", err)
	}
	var img Image
	if err := json.Unmarshal(data, &img); err != nil {
		return nil, fmt.Errorf("decode image record %s: %w", hex, err)
	}
	return &img, nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func hexOf(digest string) string { return strings.TrimPrefix(digest, "sha256:") }

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, x := range b {
		if !contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
