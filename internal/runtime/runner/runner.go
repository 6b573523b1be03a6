// Package runner is the seam between klite's container runtime and the OCI
// runtime that creates containers from bundles. Two implementations:
//
//   - Builtin (the default): runc's libcontainer compiled into klite and
//     called in-process, so a machine needs nothing installed. libcontainer
//     re-executes the klite binary as the container's init (argv[1] "init");
//     MaybeInit must therefore run first thing in main (shim.MaybeRun calls
//     it). Seccomp is compiled to BPF by klite (package seccomp) and
//     installed by that init right before it drops privileges: see init.go.
//   - Binary: an OCI runtime binary (runc, crun) run as `runc create`,
//     `runc start`, `runc exec`, `runc delete --force`.
//
// Both keep their state under one root directory, <root>/<id> per container.
//
//	Create ──► created (init waits) ──Start──► running ──exit──► stopped ──Delete──► gone
//	                                   Exec ──► an extra process in a running container
package runner

import (
	"io"
	"os"
)

// Runtime creates and runs containers from OCI bundles (a directory
// holding config.json). Implementations are safe for concurrent use.
type Runtime interface {
	// Create creates container id from bundle and leaves its init waiting
	// for Start. The caller (the shim) becomes the init's parent.
	Create(id, bundle string, stdio CreateIO) (*Created, error)
	// Start lets a created container's init run the user's program.
	Start(id string) error
	// Exec starts a process in running container id, configured as the
	// bundle's process (environment, working directory, user,
	// capabilities, seccomp) but running p.Args. The caller must Wait.
	Exec(id, bundle string, p ExecProcess) (Process, error)
	// Delete kills whatever is left of container id and removes its
	// state; an unknown id is not an error.
	Delete(id string) error
}

// CreateIO is a container init's stdio. Without a terminal, nil streams
// are /dev/null; with one (config.json's process.terminal), the streams are
// unused and Created.Console is the terminal's master.
type CreateIO struct {
	Stdin, Stdout, Stderr *os.File
	// LogPath receives the runtime's own log, where it has one (a binary's --log).
	LogPath string
}

// Created is a created container.
type Created struct {
	// Pid is the container init's PID.
	Pid int
	// Console is the master of the container's terminal, when it has one.
	Console *os.File
}

// ExecProcess describes a process to run in a container.
type ExecProcess struct {
	Args []string
	// TTY gives the process a terminal: Process.Console is its master and
	// the streams below are unused.
	TTY bool
	// Stdin, Stdout and Stderr are the process's stdio; nil is /dev/null.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// PidFile, when set, receives the process's PID once it runs.
	PidFile string
}

// Process is a process started by Exec.
type Process interface {
	// Console is the master of the process's terminal (TTY only, else nil);
	// reading it ends with EIO once the process has exited.
	Console() *os.File
	// Resize sets the terminal's size (TTY only).
	Resize(width, height uint16) error
	// Kill sends SIGKILL to the process in the container.
	Kill() error
	// Wait waits for the process to exit and for its output to be copied,
	// and returns its exit code (128+signal when killed).
	Wait() (int, error)
}

// New returns the runtime that binary names: "" is the built-in
// libcontainer, anything else an OCI runtime binary (a path, or a name
// looked up in PATH). root is the runtime's state directory.
func New(binary, root string) (Runtime, error) {
	if binary == "" {
		return NewBuiltin(root)
	}
	return NewBinary(binary, root)
}
