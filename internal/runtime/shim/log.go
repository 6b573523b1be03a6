package shim

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// maxLine is the longest log line written whole; longer ones are split
// into partial ("P") records.
const maxLine = 16 * 1024

// rotatedSuffix is appended (after a dot) to a rotated log's name; it
// sorts chronologically.
const rotatedSuffix = "20060102-150405.000000000"

// logFile writes CRI-format records: "<RFC3339Nano> <stream> <F|P> <text>",
// rotating the file once it reaches maxSize (0: never), keeping at most
// maxFiles files in all.
type logFile struct {
	path     string
	maxSize  int64
	maxFiles int

	mu   sync.Mutex
	f    *os.File
	size int64
}

func openLog(path string, maxSize int64, maxFiles int) (*logFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if maxFiles < 2 {
		maxFiles = 2
	}
	l := &logFile{path: path, maxSize: maxSize, maxFiles: maxFiles}
	return l, l.open()
}

func (l *logFile) open() error {
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.size = f, fi.Size()
	return nil
}

// rotateLocked renames the full file aside, drops the oldest rotated
// files beyond maxFiles, and starts a new file.
func (l *logFile) rotateLocked() {
	_ = l.f.Close()
	_ = os.Rename(l.path, l.path+"."+time.Now().UTC().Format(rotatedSuffix))
	old, _ := filepath.Glob(l.path + ".*")
	sort.Strings(old)
	for len(old) > l.maxFiles-1 {
		_ = os.Remove(old[0])
		old = old[1:]
	}
	if err := l.open(); err != nil {
		l.f, _ = os.Open(os.DevNull)
	}
}

// reopen starts a new file at the path (after the old one was rotated away).
func (l *logFile) reopen() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.f
	if err := l.open(); err != nil {
		return err
	}
	return old.Close()
}

func (l *logFile) write(stream string, partial bool, text []byte) {
	tag := "F"
	if partial {
		tag = "P"
	}
	rec := make([]byte, 0, len(text)+64)
	rec = time.Now().UTC().AppendFormat(rec, time.RFC3339Nano)
	rec = append(rec, ' ')
	rec = append(rec, stream...)
	rec = append(rec, ' ')
	rec = append(rec, tag...)
	rec = append(rec, ' ')
	rec = append(rec, text...)
	rec = append(rec, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	n, _ := l.f.Write(rec)
	l.size += int64(n)
	if l.maxSize > 0 && l.size >= l.maxSize {
		l.rotateLocked()
	}
}

// copyStream turns r's output into log records until EOF, also handing
// each chunk to also, when set, as soon as it is read: attached clients
// see output that does not end a line ("echo -n", a prompt) at once.
func copyStream(r io.Reader, stream string, l *logFile, also func([]byte)) {
	buf := make([]byte, 32*1024)
	var pending []byte // the start of a line not yet ended
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if also != nil {
				also(buf[:n])
			}
			pending = writeLines(append(pending, buf[:n]...), stream, l)
		}
		if err != nil {
			if len(pending) > 0 {
				l.write(stream, false, pending)
			}
			return
		}
	}
}

// writeLines logs data's complete lines (a line longer than maxLine as
// partial records of maxLine bytes) and returns the unfinished rest,
// moved to the start of data's array.
func writeLines(data []byte, stream string, l *logFile) []byte {
	rest := data
	for {
		i := bytes.IndexByte(rest, '\n')
		switch {
		case i > maxLine || (i < 0 && len(rest) > maxLine):
			l.write(stream, true, rest[:maxLine])
			rest = rest[maxLine:]
		case i >= 0:
			l.write(stream, false, bytes.TrimSuffix(rest[:i], []byte{'\r'})) // a terminal ends lines with \r\n
			rest = rest[i+1:]
		default:
			return append(data[:0], rest...)
		}
	}
}
