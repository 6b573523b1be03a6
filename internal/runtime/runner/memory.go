package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
)

// deferredMemoryFile, in a container's state dir, holds a memory limit
// that Start applies once the user's program runs.
const deferredMemoryFile = "klite-memory-limit"

// deferMemoryLimit raises a memory limit below initFootprint to it, so
// that the init fits, and returns the limit asked for (0: nothing deferred).
func deferMemoryLimit(config *configs.Config) int64 {
	r := config.Cgroups.Resources
	wanted := r.Memory
	if initFootprint == 0 || wanted <= 0 || wanted >= initFootprint {
		return 0
	}
	r.Memory = initFootprint
	if r.MemorySwap > 0 && r.MemorySwap < initFootprint {
		r.MemorySwap = initFootprint
	}
	return wanted
}

func (b *Builtin) recordDeferredMemory(id string, wanted int64) error {
	if wanted == 0 {
		return nil
	}
	return os.WriteFile(filepath.Join(b.root, id, deferredMemoryFile), []byte(strconv.FormatInt(wanted, 10)), 0o600)
}

// applyDeferredMemory sets a deferred memory limit, retrying while the
// init (about to exec the program) still holds more than it.
func (b *Builtin) applyDeferredMemory(c *libcontainer.Container, id string) error {
	path := filepath.Join(b.root, id, deferredMemoryFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil // nothing deferred
	}
	defer os.Remove(path)
	wanted, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return fmt.Errorf("deferred memory limit: %w", err)
	}
	cfg := c.Config()
	r := *cfg.Cgroups.Resources
	r.Memory = wanted
	if r.MemorySwap > 0 {
		r.MemorySwap = max(wanted, r.MemorySwap) // the swap limit asked for was raised with the memory one
	}
	cg := *cfg.Cgroups
	cg.Resources = &r
	cfg.Cgroups = &cg
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(time.Millisecond) {
		err = c.Set(cfg)
		if err == nil || errors.Is(err, libcontainer.ErrNotRunning) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("set memory limit of %s: %w", id, err)
		}
	}
}
