package oci

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Command merges a container's command and args with the image's
// entrypoint and cmd, as Kubernetes defines it: command replaces the
// entrypoint (and drops the image's cmd), args replace the cmd.
func Command(entrypoint, cmd, command, args []string) []string {
	switch {
	case len(command) > 0:
		return append(append([]string(nil), command...), args...)
	case len(args) > 0:
		return append(append([]string(nil), entrypoint...), args...)
	default:
		return append(append([]string(nil), entrypoint...), cmd...)
	}
}

// Env overlays the container's variables on the image's; a later
// definition of a name wins, keeping the first one's position.
func Env(image, container []string) []string {
	var out []string
	idx := map[string]int{}
	for _, kv := range append(append([]string(nil), image...), container...) {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := idx[k]; ok {
			out[i] = kv
			continue
		}
		idx[k] = len(out)
		out = append(out, kv)
	}
	return out
}

// User resolves an image or pod user spec ("", "uid", "name", "uid:gid",
// "name:group") against the rootfs's /etc/passwd and /etc/group, returning
// the uid, the gid (the user's primary group unless given) and the user's
// supplementary groups.
func User(rootfs, user string) (uid, gid uint32, extra []uint32, err error) {
	if user == "" {
		user = "0"
	}
	u, g, hasGroup := strings.Cut(user, ":")
	passwd := readDB(filepath.Join(rootfs, "etc/passwd"))
	uid, gid, err = lookupUser(passwd, u)
	if err != nil {
		return 0, 0, nil, err
	}
	groups := readDB(filepath.Join(rootfs, "etc/group"))
	if hasGroup {
		if gid, err = lookupID(groups, g); err != nil {
			return 0, 0, nil, err
		}
	}
	name := u
	for _, e := range passwd {
		if len(e) > 2 && e[2] == strconv.Itoa(int(uid)) {
			name = e[0]
		}
	}
	for _, e := range groups {
		if len(e) > 3 && containsCSV(e[3], name) {
			if id, err := strconv.ParseUint(e[2], 10, 32); err == nil && uint32(id) != gid {
				extra = append(extra, uint32(id))
			}
		}
	}
	return uid, gid, extra, nil
}

func lookupUser(passwd [][]string, u string) (uint32, uint32, error) {
	if n, err := strconv.ParseUint(u, 10, 32); err == nil {
		for _, e := range passwd {
			if len(e) > 3 && e[2] == u {
				gid, _ := strconv.ParseUint(e[3], 10, 32)
				return uint32(n), uint32(gid), nil
			}
		}
		return uint32(n), 0, nil
	}
	for _, e := range passwd {
		if len(e) > 3 && e[0] == u {
			uid, err1 := strconv.ParseUint(e[2], 10, 32)
			gid, err2 := strconv.ParseUint(e[3], 10, 32)
			if err1 == nil && err2 == nil {
				return uint32(uid), uint32(gid), nil
			}
		}
	}
	return 0, 0, fmt.Errorf("user %q not found in the image's /etc/passwd", u)
}

func lookupID(db [][]string, name string) (uint32, error) {
	if n, err := strconv.ParseUint(name, 10, 32); err == nil {
		return uint32(n), nil
	}
	for _, e := range db {
		if len(e) > 2 && e[0] == name {
			if n, err := strconv.ParseUint(e[2], 10, 32); err == nil {
				return uint32(n), nil
			}
		}
	}
	return 0, fmt.Errorf("group %q not found in the image's /etc/group", name)
}

// readDB reads a colon-separated database such as /etc/passwd; a missing
// file is empty.
func readDB(path string) [][]string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, strings.Split(line, ":"))
		}
	}
	return out
}

func containsCSV(list, s string) bool {
	for _, x := range strings.Split(list, ",") {
		if x == s {
			return true
		}
	}
	return false
}
