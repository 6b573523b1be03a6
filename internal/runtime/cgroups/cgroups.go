// Package cgroups manages klite's pod cgroups on cgroup v1 (one hierarchy per
// controller) and cgroup v2 (the unified hierarchy). A cgroup is named by a
// path relative to each hierarchy's root, such as "/klite/burstable/pod<uid>";
// containers get child cgroups below their pod's, created by the OCI runtime.
package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Manager creates, fills, limits, measures and removes cgroups.
type Manager struct {
	// v2 is true on the unified hierarchy.
	v2 bool
	// mounts maps each v1 hierarchy's controller list ("cpu,cpuacct",
	// "name=systemd") to its mount point; on v2 it holds "" → the root.
	mounts map[string]string
	// unified is, on a v1 ("hybrid") machine, where the controller-less
	// cgroup2 hierarchy is mounted: the OCI runtime also makes container
	// cgroups there, so Remove must clean it too.
	unified string
}

// Detect reads /proc/self/mountinfo to find the cgroup hierarchies.
func Detect() (*Manager, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("detect cgroups: %w", err)
	}
	return parseMountinfo(string(data))
}

// parseMountinfo finds the hierarchies in a mountinfo table: cgroup2 at
// /sys/fs/cgroup makes a v2 machine; otherwise every v1 hierarchy counts,
// and a cgroup2 mount elsewhere is the hybrid layout's unified tree.
func parseMountinfo(data string) (*Manager, error) {
	m := &Manager{mounts: map[string]string{}}
	for _, line := range strings.Split(data, "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, pf := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(pf) < 3 {
			continue
		}
		switch pf[0] {
		case "cgroup2":
			if f[4] == "/sys/fs/cgroup" {
				return AtUnified(f[4]), nil
			}
			if m.unified == "" {
				m.unified = f[4]
			}
		case "cgroup":
			m.mounts[controllersOf(pf[2])] = f[4]
		}
	}
	if len(m.mounts) == 0 {
		return nil, errors.New("detect cgroups: no cgroup hierarchy mounted")
	}
	return m, nil
}

// AtUnified returns a Manager for a cgroup v2 hierarchy mounted at root.
func AtUnified(root string) *Manager {
	return &Manager{v2: true, mounts: map[string]string{"": root}}
}

// controllersOf picks the controller names out of a v1 mount's options.
func controllersOf(opts string) string {
	var out []string
	for _, o := range strings.Split(opts, ",") {
		switch o {
		case "rw", "ro", "relatime", "nosuid", "nodev", "noexec", "clone_children", "noprefix":
			continue
		}
		if strings.HasPrefix(o, "release_agent=") {
			continue
		}
		out = append(out, o)
	}
	return strings.Join(out, ",")
}

// V2 reports whether the machine uses the unified hierarchy.
func (m *Manager) V2() bool { return m.v2 }

// dirs returns the directories of path in every hierarchy.
func (m *Manager) dirs(path string) []string {
	var out []string
	for _, mnt := range m.mounts {
		out = append(out, filepath.Join(mnt, path))
	}
	return out
}

// dir returns path's directory in the hierarchy holding controller.
func (m *Manager) dir(controller, path string) string {
	if m.v2 {
		return filepath.Join(m.mounts[""], path)
	}
	for ctrls, mnt := range m.mounts {
		for _, c := range strings.Split(ctrls, ",") {
			if c == controller {
				return filepath.Join(mnt, path)
			}
		}
	}
	return ""
}

// Create makes path (and its parents) in every hierarchy.
func (m *Manager) Create(path string) error {
	if m.v2 {
		return m.createV2(path)
	}
	for ctrls, mnt := range m.mounts {
		if err := mkdirCgroup(mnt, path, strings.Contains(ctrls, "cpuset")); err != nil {
			return fmt.Errorf("create cgroup %s: %w", path, err)
		}
	}
	return nil
}

// mkdirCgroup creates each level under mnt; cpuset levels inherit their
// parent's cpus and mems, without which no process may join them.
func mkdirCgroup(mnt, path string, cpuset bool) error {
	cur := mnt
	for _, c := range strings.Split(strings.Trim(path, "/"), "/") {
		parent := cur
		cur = filepath.Join(cur, c)
		if err := os.Mkdir(cur, 0o755); err != nil && !os.IsExist(err) {
			return err
		}
		if !cpuset {
			continue
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if b, _ := os.ReadFile(filepath.Join(cur, f)); strings.TrimSpace(string(b)) != "" {
				continue
			}
			b, err := os.ReadFile(filepath.Join(parent, f))
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(cur, f), b, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *Manager) createV2(path string) error {
	cur := m.mounts[""]
	for _, c := range strings.Split(strings.Trim(path, "/"), "/") {
		// Delegate the controllers we use to the next level.
		for _, ctrl := range []string{"+cpu", "+memory", "+pids", "+io"} {
			_ = os.WriteFile(filepath.Join(cur, "cgroup.subtree_control"), []byte(ctrl), 0o644)
		}
		cur = filepath.Join(cur, c)
		if err := os.Mkdir(cur, 0o755); err != nil && !os.IsExist(err) {
			return fmt.Errorf("create cgroup %s: %w", path, err)
		}
	}
	return nil
}

// AddProcess moves pid into path in every hierarchy.
func (m *Manager) AddProcess(path string, pid int) error {
	for _, d := range m.dirs(path) {
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			return fmt.Errorf("add %d to cgroup %s: %w", pid, d, err)
		}
	}
	return nil
}

// Exists reports whether path exists (in the memory hierarchy on v1).
func (m *Manager) Exists(path string) bool {
	_, err := os.Stat(m.dir("memory", path))
	return err == nil
}

// Remove deletes path and every cgroup below it in every hierarchy (the
// hybrid layout's unified one included). The cgroups must hold no
// processes; Remove retries briefly while the kernel finishes tearing
// exited processes down.
func (m *Manager) Remove(path string) error {
	dirs := m.dirs(path)
	if m.unified != "" {
		dirs = append(dirs, filepath.Join(m.unified, path))
	}
	for _, d := range dirs {
		if err := removeTree(d); err != nil {
			return fmt.Errorf("remove cgroup %s: %w", d, err)
		}
	}
	return nil
}

func removeTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := removeTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	for i := 0; ; i++ {
		err := os.Remove(dir)
		if err == nil || os.IsNotExist(err) {
			return nil
		}
		if i == 100 {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Procs lists the processes in path and the cgroups below it (v1: in the
// pids hierarchy).
func (m *Manager) Procs(path string) ([]int, error) {
	var out []int
	err := filepath.WalkDir(m.dir("pids", path), func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		b, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		if err != nil {
			return err
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
		return nil
	})
	return out, err
}
