package runner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/klite/klite/internal/runtime/seccomp"

	// device rules of the container's cgroup (v1 devices controller, v2 eBPF)
	_ "github.com/opencontainers/cgroups/devices"
)

// consoleTimeout bounds the wait for a container's terminal master.
const consoleTimeout = 10 * time.Second

// Builtin is runc's libcontainer, compiled into klite.
type Builtin struct {
	root string
}

var _ Runtime = (*Builtin)(nil)

// NewBuiltin returns the built-in runtime keeping its state under root.
func NewBuiltin(root string) (*Builtin, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("runtime state: %w", err)
	}
	return &Builtin{root: root}, nil
}

// Create creates the container in-process: libcontainer starts its init,
// which sets the container up and then waits on the exec fifo for Start.
func (b *Builtin) Create(id, bundle string, stdio CreateIO) (_ *Created, err error) {
	spec, filter, err := readSpecAndFilter(bundle)
	if err != nil {
		return nil, err
	}
	c, err := b.newContainer(id, spec)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = c.Destroy()
		}
	}()
	p, err := newProcess(spec.Process)
	if err != nil {
		return nil, err
	}
	p.Init = true
	done, err := passSeccomp(p, filter)
	if err != nil {
		return nil, err
	}
	defer done()
	if spec.Process.Terminal {
		return startWithTerminal(c, p)
	}
	setProcessStdio(p, stdio.Stdin, stdio.Stdout, stdio.Stderr)
	if err := c.Start(p); err != nil {
		return nil, fmt.Errorf("create container: %w", err)
	}
	pid, err := p.Pid()
	return &Created{Pid: pid}, err
}

// newContainer converts the spec and records the container's state.
func (b *Builtin) newContainer(id string, spec *specs.Spec) (*libcontainer.Container, error) {
	config, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: id, Spec: spec})
	if err != nil {
		return nil, fmt.Errorf("container config: %w", err)
	}
	deferred := deferMemoryLimit(config)
	c, err := libcontainer.Create(b.root, id, config)
	if err != nil {
		return nil, fmt.Errorf("create container: %w", err)
	}
	if err := b.recordDeferredMemory(id, deferred); err != nil {
		_ = c.Destroy()
		return nil, err
	}
	return c, nil
}

// startWithTerminal starts the init with a console socket and takes the
// terminal master it sends.
func startWithTerminal(c *libcontainer.Container, p *libcontainer.Process) (*Created, error) {
	parent, child, err := consolePair()
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	p.ConsoleSocket = child
	err = c.Start(p)
	child.Close()
	if err != nil {
		return nil, fmt.Errorf("create container: %w", err)
	}
	pid, _ := p.Pid()
	console, err := receiveConsole(parent, consoleTimeout)
	if err != nil {
		_ = p.Signal(unix.SIGKILL)
		return nil, err
	}
	return &Created{Pid: pid, Console: console}, nil
}

// setProcessStdio sets the files that are not nil (a nil *os.File must
// not become a non-nil io.Reader).
func setProcessStdio(p *libcontainer.Process, in, out, errOut *os.File) {
	if in != nil {
		p.Stdin = in
	}
	if out != nil {
		p.Stdout = out
	}
	if errOut != nil {
		p.Stderr = errOut
	}
}

// Start opens the container's exec fifo: its init runs the user's program.
func (b *Builtin) Start(id string) error {
	c, err := libcontainer.Load(b.root, id)
	if err != nil {
		return fmt.Errorf("start container %s: %w", id, err)
	}
	if err := c.Exec(); err != nil {
		return fmt.Errorf("start container %s: %w", id, err)
	}
	return b.applyDeferredMemory(c, id)
}

// Delete kills the container's processes, waits for its init to be gone
// and destroys it (cgroup, state).
func (b *Builtin) Delete(id string) error {
	c, err := libcontainer.Load(b.root, id)
	if err != nil {
		if errors.Is(err, libcontainer.ErrNotExist) || !knows(b.root, id) {
			return nil
		}
		return fmt.Errorf("delete container %s: %w", id, err)
	}
	if st, _ := c.Status(); st == libcontainer.Running || st == libcontainer.Paused {
		if err := c.Signal(unix.SIGKILL); err != nil && !errors.Is(err, libcontainer.ErrNotRunning) {
			return fmt.Errorf("delete container %s: %w", id, err)
		}
		waitStopped(c, 10*time.Second)
	}
	if err := c.Destroy(); err != nil {
		return fmt.Errorf("delete container %s: %w", id, err)
	}
	return nil
}

// waitStopped polls until the container's init is gone (a zombie counts
// as gone) or d has passed.
func waitStopped(c *libcontainer.Container, d time.Duration) {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if st, err := c.Status(); err != nil || st == libcontainer.Stopped {
			return
		}
	}
}

// Exec runs a process in the container through libcontainer's setns
// init; klite is its parent and reaps it in Wait.
func (b *Builtin) Exec(id, bundle string, ep ExecProcess) (Process, error) {
	spec, filter, err := readSpecAndFilter(bundle)
	if err != nil {
		return nil, err
	}
	c, err := libcontainer.Load(b.root, id)
	if err != nil {
		return nil, fmt.Errorf("exec in %s: %w", id, err)
	}
	p, err := newProcess(spec.Process)
	if err != nil {
		return nil, err
	}
	p.Args = ep.Args
	done, err := passSeccomp(p, filter)
	if err != nil {
		return nil, err
	}
	defer done()
	bp := &builtinProcess{p: p}
	if ep.TTY {
		err = bp.runWithTerminal(c)
	} else {
		err = bp.runWithPipes(c, ep)
	}
	if err != nil {
		return nil, fmt.Errorf("exec in %s: %w", id, err)
	}
	if ep.PidFile != "" {
		pid, _ := p.Pid()
		if err := os.WriteFile(ep.PidFile, []byte(strconv.Itoa(pid)), 0o600); err != nil {
			_ = bp.Kill()
			_, _ = bp.Wait()
			return nil, err
		}
	}
	return bp, nil
}

// builtinProcess is a process run by Builtin.Exec.
type builtinProcess struct {
	p       *libcontainer.Process
	console *os.File
	copying sync.WaitGroup // output being copied to the caller's writers
	closers []io.Closer    // our ends of the pipes, closed after Wait
}

func (bp *builtinProcess) runWithTerminal(c *libcontainer.Container) error {
	parent, child, err := consolePair()
	if err != nil {
		return err
	}
	defer parent.Close()
	bp.p.ConsoleSocket = child
	err = c.Run(bp.p)
	child.Close()
	if err != nil {
		return err
	}
	if bp.console, err = receiveConsole(parent, consoleTimeout); err != nil {
		_ = bp.Kill()
		_, _ = bp.p.Wait()
		return err
	}
	return nil
}

// runWithPipes gives the process pipes of ours and copies them, so that
// Wait can stop copying shortly after the process exited even if
// something it left behind holds the pipes open.
func (bp *builtinProcess) runWithPipes(c *libcontainer.Container, ep ExecProcess) error {
	var childEnds []*os.File
	defer func() {
		for _, f := range childEnds {
			f.Close()
		}
	}()
	if ep.Stdin != nil {
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		childEnds, bp.closers = append(childEnds, r), append(bp.closers, w)
		bp.p.Stdin = r
		go func() { _, _ = io.Copy(w, ep.Stdin); w.Close() }()
	}
	for _, out := range []struct {
		w   io.Writer
		set func(*os.File)
	}{{ep.Stdout, func(f *os.File) { bp.p.Stdout = f }}, {ep.Stderr, func(f *os.File) { bp.p.Stderr = f }}} {
		if out.w == nil {
			continue
		}
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		childEnds, bp.closers = append(childEnds, w), append(bp.closers, r)
		out.set(w)
		bp.copying.Add(1)
		go func() { defer bp.copying.Done(); _, _ = io.Copy(out.w, r) }()
	}
	if err := c.Run(bp.p); err != nil {
		bp.closeAll()
		return err
	}
	return nil
}

func (bp *builtinProcess) closeAll() {
	for _, c := range bp.closers {
		c.Close()
	}
}

func (bp *builtinProcess) Console() *os.File { return bp.console }

func (bp *builtinProcess) Resize(width, height uint16) error {
	if bp.console == nil {
		return errors.New("exec has no terminal")
	}
	return setWinsize(bp.console, width, height)
}

func (bp *builtinProcess) Kill() error { return bp.p.Signal(unix.SIGKILL) }

// Wait reaps the process, then lets its output drain for a moment.
func (bp *builtinProcess) Wait() (int, error) {
	ps, err := bp.p.Wait()
	copied := make(chan struct{})
	go func() { bp.copying.Wait(); close(copied) }()
	select {
	case <-copied:
	case <-time.After(drainTimeout):
	}
	bp.closeAll()
	if ps == nil {
		return 0, err
	}
	return exitStatus(ps), nil
}

// readSpecAndFilter reads bundle/config.json and takes its seccomp profile out, compiled: the
// built-in runtime installs it itself.
func readSpecAndFilter(bundle string) (*specSpec, *seccomp.Filter, error) {
	spec, err := readSpec(bundle)
	if err != nil {
		return nil, nil, err
	}
	filter, err := takeSeccomp(spec)
	return spec, filter, err
}

// readSpec reads bundle/config.json; a relative root is the bundle's.
func readSpec(bundle string) (*specSpec, error) {
	s, err := loadSpec(filepath.Join(bundle, "config.json"))
	if err != nil {
		return nil, err
	}
	if s.Root != nil && !filepath.IsAbs(s.Root.Path) {
		s.Root.Path = filepath.Join(bundle, s.Root.Path)
	}
	if s.Process == nil {
		return nil, errors.New("config.json has no process")
	}
	for i, m := range s.Mounts {
		if !isBind(m) || filepath.IsAbs(m.Source) {
			continue
		}
		if m.Source == "" {
			return nil, fmt.Errorf("bind mount %s has no source", m.Destination)
		}
		s.Mounts[i].Source = filepath.Join(bundle, m.Source) // relative sources are the bundle's
	}
	return s, nil
}

func isBind(m specs.Mount) bool {
	return m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
}
