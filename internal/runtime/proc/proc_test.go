package proc

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
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

// Reap reaps children without a thread per child waiting.
func TestReapHoldsNoThreadPerChild(t *testing.T) {
	const children = 40
	before := threads(t)
	var done []<-chan struct{}
	var pids []int
	for i := 0; i < children; i++ {
		cmd := exec.Command("sleep", "1")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, cmd.Process.Pid)
		done = append(done, Reap(cmd.Process))
	}
	time.Sleep(200 * time.Millisecond) // let every waiter settle
	if n := threads(t); n > before+10 {
		t.Errorf("%d threads while %d children are waited for (%d before): a thread per child", n, children, before)
	}
	for i, d := range done {
		select {
		case <-d:
		case <-time.After(10 * time.Second):
			t.Fatalf("child %d not reaped", pids[i])
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pids[i])); err == nil && StartTime(pids[i]) != 0 {
			t.Errorf("child %d still in /proc after Reap", pids[i])
		}
	}
}

func threads(t *testing.T) int {
	t.Helper()
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if n, ok := strings.CutPrefix(line, "Threads:"); ok {
			v, _ := strconv.Atoi(strings.TrimSpace(n))
			return v
		}
	}
	t.Fatal("no Threads line")
	return 0
}
