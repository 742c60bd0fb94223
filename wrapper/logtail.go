package wrapper

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// maxLineBytes caps one log line held in memory; a longer line (a runaway
// stack trace without newlines) is passed on in pieces of this size.
const maxLineBytes = 256 << 10

// LogTail reads what is appended to a log file after a point in time: the
// file's size and identity are recorded when the tail is made, and Poll
// returns only lines written after that. It survives rotation: when the path
// names a different file (rename and recreate, as log4j2's RollingFile does)
// the rest of the old file is read first and the new one from its start; when
// the file shrinks (copytruncate) it is read again from the start.
type LogTail struct {
	path    string
	f       *os.File
	dev     uint64
	ino     uint64
	off     int64
	partial []byte
	buf     []byte
	// StartSize and StartExisted describe the file when the tail was made,
	// for the verdict's evidence.
	StartSize    int64
	StartExisted bool
	rotations    int
}

// NewLogTail records the end of path. A missing file is fine: everything
// written to it once it appears is new.
func NewLogTail(path string) (*LogTail, error) {
	t := &LogTail{path: path, buf: make([]byte, 32<<10)}
	f, err := os.Open(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return t, nil
	case err != nil:
		return nil, fmt.Errorf("opening log %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading log %s: %w", path, err)
	}
	t.f, t.off = f, fi.Size()
	t.dev, t.ino = fileID(fi)
	t.StartSize, t.StartExisted = fi.Size(), true
	return t, nil
}

// Path is the file being tailed.
func (t *LogTail) Path() string { return t.path }

// Rotations counts the rotations and truncations seen so far.
func (t *LogTail) Rotations() int { return t.rotations }

// Poll calls fn for every complete line appended since the last call (without
// its line ending) and returns. A line still being written is held until its
// newline arrives.
func (t *LogTail) Poll(fn func(line string)) error {
	if t.f != nil {
		if err := t.drain(fn); err != nil {
			return err
		}
	}
	fi, err := os.Stat(t.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// Rotated away and not recreated yet: the old file was drained above.
		return nil
	case err != nil:
		return fmt.Errorf("reading log %s: %w", t.path, err)
	}
	dev, ino := fileID(fi)
	switch {
	case t.f == nil:
		return t.reopen(fn, false)
	case dev != t.dev || ino != t.ino:
		t.flushPartial(fn)
		return t.reopen(fn, true)
	case fi.Size() < t.off:
		t.rotations++
		t.flushPartial(fn)
		t.off = 0
		return t.drain(fn)
	}
	return nil
}

func (t *LogTail) reopen(fn func(string), rotated bool) error {
	f, err := os.Open(t.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opening log %s: %w", t.path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("reading log %s: %w", t.path, err)
	}
	if t.f != nil {
		t.f.Close()
	}
	if rotated {
		t.rotations++
	}
	t.f, t.off = f, 0
	t.dev, t.ino = fileID(fi)
	return t.drain(fn)
}

// drain reads the open file from the offset to its current end.
func (t *LogTail) drain(fn func(string)) error {
	for {
		n, err := t.f.ReadAt(t.buf, t.off)
		if n > 0 {
			t.off += int64(n)
			t.split(t.buf[:n], fn)
		}
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading log %s: %w", t.path, err)
		}
	}
}

func (t *LogTail) split(b []byte, fn func(string)) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			t.partial = append(t.partial, b...)
			for len(t.partial) >= maxLineBytes {
				fn(string(t.partial[:maxLineBytes]))
				t.partial = append(t.partial[:0], t.partial[maxLineBytes:]...)
			}
			return
		}
		var line []byte
		if len(t.partial) > 0 {
			t.partial = append(t.partial, b[:i]...)
			line = t.partial
		} else {
			line = b[:i]
		}
		fn(string(bytes.TrimSuffix(line, []byte{'\r'})))
		t.partial = t.partial[:0]
		b = b[i+1:]
	}
}

// flushPartial passes on an unterminated last line of a file that is being
// left behind (rotated or truncated): nothing more will be appended to it.
func (t *LogTail) flushPartial(fn func(string)) {
	if len(t.partial) > 0 {
		fn(string(bytes.TrimSuffix(t.partial, []byte{'\r'})))
		t.partial = t.partial[:0]
	}
}

// Close releases the file.
func (t *LogTail) Close() error {
	if t.f == nil {
		return nil
	}
	err := t.f.Close()
	t.f = nil
	return err
}

func fileID(fi os.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), st.Ino //nolint:unconvert // Dev is int-typed on some platforms
	}
	return 0, 0
}
