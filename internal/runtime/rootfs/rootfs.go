// Package rootfs mounts a container's root filesystem on overlayfs: the
// image's unpacked layers are the read-only lower dirs and each container
// gets its own upper (writable) and work directories.
//
// Layout of one container's directory:
//
//	<dir>/upper    the container's writes
//	<dir>/work     overlayfs scratch space
//	<dir>/rootfs   the merged mount point handed to the OCI runtime
package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// maxMountData is the kernel's limit on the mount options string (one page).
const maxMountData = 4095

// Path returns the merged mount point of the rootfs in dir.
func Path(dir string) string { return filepath.Join(dir, "rootfs") }

// Mount mounts an overlay of lowers (topmost first) with a fresh upper dir
// under dir and returns the merged mount point. Mounting an already mounted
// dir is a no-op.
func Mount(dir string, lowers []string) (string, error) {
	if len(lowers) == 0 {
		return "", errors.New("mount rootfs: no image layers")
	}
	target := Path(dir)
	if mounted, err := IsMounted(target); err != nil || mounted {
		return target, err
	}
	for _, d := range []string{"upper", "work", "rootfs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return "", fmt.Errorf("mount rootfs: %w", err)
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s",
		strings.Join(lowers, ":"), filepath.Join(dir, "upper"), filepath.Join(dir, "work"))
	if len(opts) > maxMountData {
		return "", fmt.Errorf("mount rootfs: %d layers make mount options too long (%d bytes)", len(lowers), len(opts))
	}
	if err := unix.Mount("overlay", target, "overlay", 0, opts); err != nil {
		return "", fmt.Errorf("mount overlay at %s: %w", target, err)
	}
	return target, nil
}

// Unmount unmounts the rootfs in dir (lazily if it is busy) and removes dir.
// It succeeds when dir does not exist.
func Unmount(dir string) error {
	target := Path(dir)
	for {
		mounted, err := IsMounted(target)
		if err != nil {
			return err
		}
		if !mounted {
			break
		}
		if err := unix.Unmount(target, 0); err != nil {
			if err := unix.Unmount(target, unix.MNT_DETACH); err != nil {
				return fmt.Errorf("unmount %s: %w", target, err)
			}
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove rootfs dir: %w", err)
	}
	return nil
}

// IsMounted reports whether path is a mount point: from statx's
// STATX_ATTR_MOUNT_ROOT (Linux 5.8+; one syscall), else from
// /proc/self/mountinfo, which grows with every container's mounts.
func IsMounted(path string) (bool, error) {
	var stx unix.Statx_t
	err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, 0, &stx)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
		return false, nil
	}
	if err == nil && stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 {
		return stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0, nil
	}
	return inMountinfo(path)
}

func inMountinfo(path string) (bool, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && unescapeMountPath(f[4]) == path {
			return true, nil
		}
	}
	return false, nil
}

func unescapeMountPath(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// Usage returns the bytes and inodes a container has written (its upper dir).
func Usage(dir string) (bytes, inodes uint64, err error) {
	err = filepath.WalkDir(filepath.Join(dir, "upper"), func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		inodes++
		if info, ierr := d.Info(); ierr == nil && info.Mode().IsRegular() {
			bytes += uint64(info.Size())
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	return bytes, inodes, err
}
