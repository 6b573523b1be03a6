package shim

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var record = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z (stdout|stderr) (F|P) (.*)$`)

func readRecords(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		m := record.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("not a CRI log record: %q", l)
		}
		out = append(out, m[2:])
	}
	return out
}

func TestCopyStreamWritesCRIRecords(t *testing.T) {
	long := strings.Repeat("x", maxLine+10)
	for _, tc := range []struct {
		name  string
		input string
		want  [][]string // stream, tag, text
	}{
		{"full lines", "a\nb\n", [][]string{{"stdout", "F", "a"}, {"stdout", "F", "b"}}},
		{"no final newline", "a\nb", [][]string{{"stdout", "F", "a"}, {"stdout", "F", "b"}}},
		{"empty line", "\n", [][]string{{"stdout", "F", ""}}},
		{"long line split", long + "\n", [][]string{{"stdout", "P", long[:maxLine]}, {"stdout", "F", long[maxLine:]}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c", "0.log")
			l, err := openLog(path, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			copyStream(strings.NewReader(tc.input), "stdout", l, nil)
			got := readRecords(t, path)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d records, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if strings.Join(got[i], " ") != strings.Join(tc.want[i], " ") {
					t.Errorf("record %d = %.40q, want %.40q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestLogRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	l, err := openLog(path, 200, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		l.write("stdout", false, []byte(strings.Repeat("y", 20)))
	}
	rotated, _ := filepath.Glob(path + ".*")
	if len(rotated) != 2 {
		t.Errorf("%d rotated files, want 2 (3 files in all)", len(rotated))
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() >= 200 {
		t.Errorf("current log %v, %v: want a fresh file under the limit", fi, err)
	}
	for _, p := range rotated {
		readRecords(t, p) // rotated files hold whole records
	}
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	l, err := openLog(path, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	l.write("stderr", false, []byte("before"))
	if err := os.Rename(path, path+".old"); err != nil {
		t.Fatal(err)
	}
	if err := l.reopen(); err != nil {
		t.Fatal(err)
	}
	l.write("stderr", false, []byte("after"))
	if got := readRecords(t, path); len(got) != 1 || got[0][2] != "after" {
		t.Errorf("new file holds %q", got)
	}
}

func TestCopyStreamForwardsUnfinishedLines(t *testing.T) {
	l, err := openLog(filepath.Join(t.TempDir(), "c", "0.log"), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	r, w := io.Pipe()
	got := make(chan string, 4)
	done := make(chan struct{})
	go func() {
		copyStream(r, "stdout", l, func(b []byte) { got <- string(b) })
		close(done)
	}()
	if _, err := w.Write([]byte("hello")); err != nil { // no newline, stream still open
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "hello" {
			t.Errorf("forwarded %q, want hello", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("output without a newline was not forwarded while the stream stays open")
	}
	w.Close()
	<-done
}
