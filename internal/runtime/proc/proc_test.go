package proc

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestAliveStartTimeWaitGone(t *testing.T) {
	if !Alive(os.Getpid()) || StartTime(os.Getpid()) == 0 {
		t.Fatal("the test process is not alive")
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if !Alive(pid) || WaitGone(pid, 50*time.Millisecond) {
		t.Fatal("sleep not seen alive")
	}
	start := StartTime(pid)
	if !Running(pid, start) || Running(pid, start+1) || Running(0, 0) {
		t.Errorf("Running(%d, %d) = %v, with another start time %v", pid, start, Running(pid, start), Running(pid, start+1))
	}
	_ = cmd.Process.Kill()
	// Until reaped the process is a zombie, which counts as gone.
	if !WaitGone(pid, 5*time.Second) {
		t.Error("killed process still alive")
	}
	if Running(pid, start) {
		t.Error("a zombie counts as running")
	}
	_ = cmd.Wait()
	if Alive(pid) || StartTime(pid) != 0 {
		t.Error("reaped process still visible")
	}
}
