package streaming

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// runOnPTY runs c on a new pseudo-terminal, as a runtime runs a TTY exec:
// the terminal's master side is copied to and from the streams, and every
// resize the client sends resizes the terminal.
func runOnPTY(c *exec.Cmd, s Streams) error {
	master, slave, err := openPTY()
	if err != nil {
		return err
	}
	defer master.Close()
	c.Stdin, c.Stdout, c.Stderr = slave, slave, slave
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	fd := int(master.Fd())
	stopResizing := make(chan struct{})
	resized := make(chan struct{})
	go func() {
		defer close(resized)
		for {
			select {
			case size, ok := <-s.Resize:
				if !ok {
					return
				}
				_ = unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: size.Height, Col: size.Width})
			case <-stopResizing:
				return
			}
		}
	}()
	defer func() { close(stopResizing); <-resized }() // before master closes
	if s.Stdin != nil {
		go func() { _, _ = io.Copy(master, s.Stdin) }()
	}
	copied := make(chan struct{})
	go func() { defer close(copied); _, _ = io.Copy(s.Stdout, master) }() // ends with EIO once the slave is gone
	err = c.Start()
	slave.Close()
	if err != nil {
		return err
	}
	err = c.Wait()
	<-copied
	return err
}

func openPTY() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	fd := int(master.Fd())
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err == nil {
		err = unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0)
	}
	if err == nil {
		slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	}
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("open pty: %w", err)
	}
	return master, slave, nil
}
