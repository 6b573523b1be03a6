// Package shim is the small per-container process that sits between klite
// and a container. klite re-executes itself as argv[0] "klite-shim"; the
// shim becomes a child subreaper, creates the container through the OCI
// runtime (package runner: libcontainer in-process by default, or `runc
// create`) with pipes as the container's stdout and stderr, reports the
// container's PID, then writes
// the container's output to its CRI-format log and, when the container
// exits, records the exit status in exit.json. Because the shim (not
// klite) is the container's parent and owns its stdio, containers outlive a
// restart of klite.
//
//	klite ──start──► shim ──runner.Create──► container init (the shim's child)
//	                  │  stdout/stderr pipes ──► <log path> (CRI format)
//	                  └─ wait4 ──► <state>/exit.json
//
// The binary must call MaybeRun first thing in main (tests: in TestMain);
// it also runs the container init libcontainer re-executes the binary as.
package shim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/klite/klite/internal/runtime/proc"
	"github.com/klite/klite/internal/runtime/runner"
)

// Argv0 marks a re-executed klite as a shim.
const Argv0 = "klite-shim"

// Config is what a shim needs; it is passed as JSON in argv[1].
type Config struct {
	ID     string `json:"id"`
	Bundle string `json:"bundle"`
	// RuncPath is the OCI runtime binary; "" is the built-in libcontainer.
	RuncPath string `json:"runcPath,omitempty"`
	// RuncRoot is the OCI runtime's state directory.
	RuncRoot string `json:"runcRoot"`
	LogPath  string `json:"logPath"`
	// LogMaxSize rotates the log at this many bytes (0: never), keeping
	// LogMaxFiles files in all (default 5).
	LogMaxSize  int64 `json:"logMaxSize,omitempty"`
	LogMaxFiles int   `json:"logMaxFiles,omitempty"`
	// StateDir receives pid, runc.log and exit.json.
	StateDir string `json:"stateDir"`
	// CgroupsPath is the container's cgroup, read for OOM kills on exit.
	CgroupsPath string `json:"cgroupsPath"`
	// Stdin gives the container a stdin that attached clients write to;
	// StdinOnce closes it when the first client detaches.
	Stdin     bool `json:"stdin,omitempty"`
	StdinOnce bool `json:"stdinOnce,omitempty"`
	// Terminal gives the container a terminal (the spec's process must
	// ask for one); its output is logged as stdout.
	Terminal bool `json:"terminal,omitempty"`
}

// Exit is the recorded end of a container.
type Exit struct {
	Code       int       `json:"code"`
	Signal     int       `json:"signal,omitempty"`
	OOMKilled  bool      `json:"oomKilled,omitempty"`
	FinishedAt time.Time `json:"finishedAt"`
}

// ExitPath is where the shim records the container's exit.
func ExitPath(stateDir string) string { return filepath.Join(stateDir, "exit.json") }

// PidPath is where the container init's PID is recorded.
func PidPath(stateDir string) string { return filepath.Join(stateDir, "pid") }

// ShimPidPath is where the shim's own PID is recorded.
func ShimPidPath(stateDir string) string { return filepath.Join(stateDir, "shim.pid") }

// ReadExit returns the recorded exit, or os.ErrNotExist while the
// container has not exited.
func ReadExit(stateDir string) (*Exit, error) {
	b, err := os.ReadFile(ExitPath(stateDir))
	if err != nil {
		return nil, err
	}
	var e Exit
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("decode exit: %w", err)
	}
	return &e, nil
}

// Start launches a shim that creates the container (not yet started) and
// returns the shim's and the container init's PIDs.
func Start(cfg Config) (shimPid, initPid int, err error) {
	arg, err := json.Marshal(cfg)
	if err != nil {
		return 0, 0, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, 0, err
	}
	defer r.Close()
	cmd := &exec.Cmd{Path: "/proc/self/exe", Args: []string{Argv0, string(arg)},
		Env:         []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		ExtraFiles:  []*os.File{w},
		SysProcAttr: &syscall.SysProcAttr{Setsid: true}}
	if err := cmd.Start(); err != nil {
		w.Close()
		return 0, 0, fmt.Errorf("start shim: %w", err)
	}
	w.Close()
	proc.Reap(cmd.Process) // reap the shim while klite runs
	line, _ := bufio.NewReader(r).ReadString('\n')
	pidStr, ok := strings.CutPrefix(strings.TrimSpace(line), "ok ")
	if !ok {
		_ = cmd.Process.Kill()
		msg := strings.TrimPrefix(strings.TrimSpace(line), "error ")
		if msg == "" {
			msg = "shim exited without reporting"
		}
		return 0, 0, errors.New(msg)
	}
	initPid, err = strconv.Atoi(pidStr)
	if err != nil {
		return 0, 0, fmt.Errorf("shim reported %q", line)
	}
	return cmd.Process.Pid, initPid, nil
}

// MaybeRun runs the shim and exits when argv[0] says this is one, or the
// container init when libcontainer re-executed the binary as one (see
// runner.MaybeInit); otherwise it returns false at once.
func MaybeRun() bool {
	if runner.MaybeInit() {
		return true
	}
	if len(os.Args) < 2 || os.Args[0] != Argv0 {
		return false
	}
	var cfg Config
	if err := json.Unmarshal([]byte(os.Args[1]), &cfg); err != nil {
		fmt.Fprintf(os.NewFile(3, "ready"), "error bad shim config: %v\n", err)
		os.Exit(2)
	}
	os.Exit(run(cfg))
	return true
}
