package network

import (
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrExhausted is returned when every address of the subnet is taken.
var ErrExhausted = errors.New("no free address in the pod range")

// IPAM hands out the addresses of one IPv4 subnet, recorded on disk as one
// file per address (named by the address, holding the owner's ID) so that
// an address is never held by two sandboxes, even across restarts and
// processes (a flock serialises allocations). Allocation continues after the
// last address handed out, so a released address is reused as late as possible.
// The subnet's first host address is the gateway and is never handed out.
type IPAM struct {
	dir    string
	subnet *net.IPNet
}

// NewIPAM keeps its state for subnet under dir.
func NewIPAM(dir string, subnet *net.IPNet) (*IPAM, error) {
	if subnet.IP.To4() == nil {
		return nil, fmt.Errorf("ipam: %s is not an IPv4 subnet", subnet)
	}
	d := filepath.Join(dir, strings.ReplaceAll(subnet.String(), "/", "_"))
	if err := os.MkdirAll(d, 0o700); err != nil {
		return nil, fmt.Errorf("ipam: %w", err)
	}
	return &IPAM{dir: d, subnet: subnet}, nil
}

// Gateway returns the subnet's first host address.
func (a *IPAM) Gateway() net.IP { return addInt(a.subnet.IP.Mask(a.subnet.Mask), 1) }

// Allocate returns the address held by id, reserving a new one if it has none.
func (a *IPAM) Allocate(id string) (net.IP, error) {
	unlock, err := a.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if ip := a.find(id); ip != nil {
		return ip, nil
	}
	ones, bits := a.subnet.Mask.Size()
	size := 1 << (bits - ones)
	last := a.last()
	for i := 1; i <= size; i++ {
		off := (last + i) % size
		if off <= 1 || off == size-1 { // network, gateway, broadcast
			continue
		}
		ip := addInt(a.subnet.IP.Mask(a.subnet.Mask), off)
		f, err := os.OpenFile(filepath.Join(a.dir, ip.String()), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if os.IsExist(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("ipam: %w", err)
		}
		_, werr := f.WriteString(id)
		if cerr := f.Close(); werr != nil || cerr != nil {
			return nil, fmt.Errorf("ipam: record %s: %v %v", ip, werr, cerr)
		}
		_ = os.WriteFile(filepath.Join(a.dir, "last"), []byte(fmt.Sprint(off)), 0o600)
		return ip, nil
	}
	return nil, fmt.Errorf("%w %s", ErrExhausted, a.subnet)
}

// Release frees the address held by id; it is a no-op when id holds none.
func (a *IPAM) Release(id string) error {
	unlock, err := a.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if ip := a.find(id); ip != nil {
		if err := os.Remove(filepath.Join(a.dir, ip.String())); err != nil {
			return fmt.Errorf("ipam: release %s: %w", ip, err)
		}
	}
	return nil
}

// find returns the address recorded for id, or nil.
func (a *IPAM) find(id string) net.IP {
	entries, _ := os.ReadDir(a.dir)
	for _, e := range entries {
		ip := net.ParseIP(e.Name())
		if ip == nil {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(a.dir, e.Name())); err == nil && string(b) == id {
			return ip
		}
	}
	return nil
}

func (a *IPAM) last() int {
	b, err := os.ReadFile(filepath.Join(a.dir, "last"))
	if err != nil {
		return 0
	}
	var n int
	_, _ = fmt.Sscan(string(b), &n)
	return n
}

func (a *IPAM) lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(a.dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("ipam: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("ipam: lock: %w", err)
	}
	return func() { f.Close() }, nil
}

func addInt(ip net.IP, n int) net.IP {
	v := new(big.Int).SetBytes(ip.To4())
	v.Add(v, big.NewInt(int64(n)))
	out := make(net.IP, 4)
	v.FillBytes(out)
	return out
}
