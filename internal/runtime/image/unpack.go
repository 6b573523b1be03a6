package image

import (
	"archive/tar"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
	// OpaqueXattr marks an overlayfs directory as hiding the lower layers' contents.
	OpaqueXattr = "trusted.overlay.opaque"
)

// Unpack extracts the uncompressed layer tar r into dir, turning OCI
// whiteouts into overlayfs ones: ".wh.NAME" becomes a 0/0 character device
// NAME and ".wh..wh..opq" sets the trusted.overlay.opaque xattr on its
// directory. It returns the sha256 of the whole stream (the diff ID).
func Unpack(r io.Reader, dir string) (v1.Hash, error) {
	h := sha256.New()
	hashed := io.TeeReader(r, h)
	tr := tar.NewReader(hashed)
	u := unpacker{root: dir}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return v1.Hash{}, fmt.Errorf("read layer: %w", err)
		}
		if err := u.entry(hdr, tr); err != nil {
			return v1.Hash{}, fmt.Errorf("%s: %w", hdr.Name, err)
		}
	}
	if _, err := io.Copy(io.Discard, hashed); err != nil { // trailing padding counts in the digest
		return v1.Hash{}, err
	}
	if err := u.finishDirs(); err != nil {
		return v1.Hash{}, err
	}
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}, nil
}

type unpacker struct {
	root string
	dirs []*tar.Header // directory times are set last
}

func (u *unpacker) entry(hdr *tar.Header, r io.Reader) error {
	rel := filepath.Clean("/" + hdr.Name)
	if rel == "/" {
		return nil
	}
	parent, base := filepath.Split(rel)
	parentPath, err := u.mkParents(parent)
	if err != nil {
		return err
	}
	switch {
	case base == whiteoutOpaque:
		return unix.Setxattr(parentPath, OpaqueXattr, []byte("y"), 0)
	case strings.HasPrefix(base, whiteoutPrefix):
		p := filepath.Join(parentPath, strings.TrimPrefix(base, whiteoutPrefix))
		return mknod(p, unix.S_IFCHR, 0)
	}
	path := filepath.Join(parentPath, base)
	if hdr.Typeflag != tar.TypeDir {
		if err := os.RemoveAll(path); err != nil {
			return err
		}
	}
	if err := u.create(hdr, path, r); err != nil {
		return err
	}
	return applyMeta(hdr, path)
}

// mkParents creates the parent directories of an entry inside the root,
// refusing to follow symlinks out of it.
func (u *unpacker) mkParents(parent string) (string, error) {
	path := u.root
	for _, c := range strings.Split(strings.Trim(parent, "/"), "/") {
		if c == "" {
			continue
		}
		path = filepath.Join(path, c)
		fi, err := os.Lstat(path)
		switch {
		case os.IsNotExist(err):
			if err := os.Mkdir(path, 0o755); err != nil {
				return "", err
			}
		case err != nil:
			return "", err
		case !fi.IsDir():
			return "", fmt.Errorf("parent %s is not a directory", path)
		}
	}
	return path, nil
}

// inRoot resolves an existing entry of the layer, refusing paths whose
// parent directories are symlinks (which could lead out of the root).
func (u *unpacker) inRoot(name string) (string, error) {
	rel := filepath.Clean("/" + name)
	path := u.root
	dir, base := filepath.Split(rel)
	for _, c := range strings.Split(strings.Trim(dir, "/"), "/") {
		if c == "" {
			continue
		}
		path = filepath.Join(path, c)
		fi, err := os.Lstat(path)
		if err != nil {
			return "", err
		}
		if !fi.IsDir() {
			return "", fmt.Errorf("link target parent %s is not a directory", path)
		}
	}
	return filepath.Join(path, base), nil
}

func (u *unpacker) create(hdr *tar.Header, path string, r io.Reader) error {
	mode := uint32(hdr.Mode & 0o7777)
	switch hdr.Typeflag {
	case tar.TypeDir:
		u.dirs = append(u.dirs, &tar.Header{Name: path, ModTime: hdr.ModTime})
		if fi, err := os.Lstat(path); err == nil && !fi.IsDir() {
			if err := os.Remove(path); err != nil { // never chmod through a symlink
				return err
			}
		}
		if err := os.Mkdir(path, 0o755); err != nil && !os.IsExist(err) {
			return err
		}
		return nil
	case tar.TypeReg, tar.TypeRegA:
		return writeFile(path, r)
	case tar.TypeSymlink:
		return os.Symlink(hdr.Linkname, path)
	case tar.TypeLink:
		target, err := u.inRoot(hdr.Linkname)
		if err != nil {
			return err
		}
		return os.Link(target, path)
	case tar.TypeChar:
		return mknod(path, unix.S_IFCHR|mode, int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))))
	case tar.TypeBlock:
		return mknod(path, unix.S_IFBLK|mode, int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))))
	case tar.TypeFifo:
		return mknod(path, unix.S_IFIFO|mode, 0)
	default:
		return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
	}
}

func writeFile(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func mknod(path string, mode uint32, dev int) error {
	if err := os.RemoveAll(path); err != nil {
		return err
	}
	return unix.Mknod(path, mode, dev)
}

// applyMeta sets owner, mode, xattrs and times of a created entry.
func applyMeta(hdr *tar.Header, path string) error {
	if err := os.Lchown(path, hdr.Uid, hdr.Gid); err != nil {
		return err
	}
	for k, v := range hdr.PAXRecords {
		if x, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
			if err := unix.Lsetxattr(path, x, []byte(v), 0); err != nil && !errors.Is(err, unix.ENOTSUP) && !errors.Is(err, unix.EPERM) {
				return fmt.Errorf("set xattr %s: %w", x, err)
			}
		}
	}
	if hdr.Typeflag != tar.TypeSymlink && hdr.Typeflag != tar.TypeLink {
		if err := os.Chmod(path, os.FileMode(hdr.Mode&0o777)|modeBits(hdr.Mode)); err != nil {
			return err
		}
	}
	if hdr.Typeflag == tar.TypeDir || hdr.Typeflag == tar.TypeLink {
		return nil
	}
	return lutimes(path, hdr.ModTime)
}

func modeBits(m int64) os.FileMode {
	var out os.FileMode
	if m&0o4000 != 0 {
		out |= os.ModeSetuid
	}
	if m&0o2000 != 0 {
		out |= os.ModeSetgid
	}
	if m&0o1000 != 0 {
		out |= os.ModeSticky
	}
	return out
}

func lutimes(path string, t time.Time) error {
	ts := []unix.Timespec{unix.NsecToTimespec(t.UnixNano()), unix.NsecToTimespec(t.UnixNano())}
	return unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW)
}

func (u *unpacker) finishDirs() error {
	for i := len(u.dirs) - 1; i >= 0; i-- {
		if err := lutimes(u.dirs[i].Name, u.dirs[i].ModTime); err != nil {
			return err
		}
	}
	return nil
}
