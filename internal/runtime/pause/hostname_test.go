package pause

import (
	"fmt"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// hostnameOf reads the hostname inside pid's UTS namespace.
func hostnameOf(t *testing.T, pid int) string {
	t.Helper()
	done := make(chan string, 1)
	go func() {
		runtime.LockOSThread() // the thread is discarded: never unlocked
		f, err := os.Open(fmt.Sprintf("/proc/%d/ns/uts", pid))
		if err != nil {
			done <- err.Error()
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWUTS); err != nil {
			done <- err.Error()
			return
		}
		var u unix.Utsname
		_ = unix.Uname(&u)
		done <- unix.ByteSliceToString(u.Nodename[:])
	}()
	return <-done
}
