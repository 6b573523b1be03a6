package oci

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// BoundingCapabilities returns the capabilities in this process's bounding
// set: what a privileged container can be given here (a runtime inside a
// restricted environment may lack some of AllCapabilities).
func BoundingCapabilities() []string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return AllCapabilities
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapBnd:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				break
			}
			return capsOfMask(mask)
		}
	}
	return AllCapabilities
}

// capsOfMask names the bits of a capability mask; AllCapabilities is
// ordered by capability number.
func capsOfMask(mask uint64) []string {
	var out []string
	for i, c := range AllCapabilities {
		if mask&(1<<uint(i)) != 0 {
			out = append(out, c)
		}
	}
	return out
}
