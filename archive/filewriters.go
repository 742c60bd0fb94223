package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	writeBufSize = 256 << 10
	writeBufs    = 32 // 8 MiB in flight at most
	// fileWorkers: one writer beside the tar reader and the decoder. Two
	// were measured slower on two cores (more CPU in total, the file
	// system serialising creations in the same directories anyway). It
	// must stay one: directories are finished in the order handed over.
	fileWorkers = 1
)

// fileJob is one regular file for a worker: its content arrives in order
// on data, which is closed after the last piece. A job without data
// finishes a directory (owner, mode, time) after everything in it.
type fileJob struct {
	index int
	path  string
	e     *Entry
	data  chan []byte
}

// fileWriters creates, writes, hashes and finishes restored files on a
// goroutine of its own, while the caller reads the tar stream. Files are
// independent (each has its own hash); the caller creates directories
// before it hands over anything inside them, hands over a directory's
// finish after everything in it (the one worker keeps the order), and
// waits (wait) before a hard link to a file that may still be in flight.
type fileWriters struct {
	staging string
	id      string
	chown   bool
	ownerOK bool // new files already have the owner most entries ask for
	uid     int
	gid     int
	jobs    chan *fileJob
	free    chan []byte
	pending sync.WaitGroup
	workers sync.WaitGroup
	bad     atomic.Bool
	mu      sync.Mutex
	errIdx  int
	err     error
}

func newFileWriters(staging, id string, chown bool) (*fileWriters, error) {
	w := &fileWriters{
		staging: staging, id: id, chown: chown, uid: os.Geteuid(), gid: os.Getegid(),
		jobs: make(chan *fileJob, writeBufs), free: make(chan []byte, writeBufs),
	}
	if chown {
		// New files belong to the effective user and take their group
		// either from it or, on a setgid directory or a grpid mount, from
		// the directory, which all lead back to staging. When staging's
		// group is the effective group, a file whose entry asks for the
		// effective owner needs no chown.
		var st unix.Stat_t
		if err := unix.Stat(staging, &st); err != nil {
			return nil, &os.PathError{Op: "stat", Path: staging, Err: err}
		}
		w.ownerOK = int(st.Gid) == w.gid
	}
	for range writeBufs {
		w.free <- make([]byte, writeBufSize)
	}
	for range fileWorkers {
		w.workers.Add(1)
		go w.work()
	}
	return w, nil
}

// write hands file e (manifest index i) to a worker, reading its content
// from r. It returns the bytes read; an error is r's, through errf.
func (w *fileWriters) write(i int, p string, e *Entry, r io.Reader, errf func(error) error, prog *progress) (int64, error) {
	job := &fileJob{index: i, path: p, e: e, data: make(chan []byte, writeBufs)}
	w.pending.Add(1)
	w.jobs <- job
	defer close(job.data)
	var n int64
	for {
		buf := <-w.free
		k, err := io.ReadFull(r, buf)
		if k > 0 {
			job.data <- buf[:k]
			n += int64(k)
			prog.add(int64(k), 0)
		} else {
			w.free <- buf
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return n, nil
		case err != nil:
			return n, errf(err)
		}
	}
}

// finishDir hands over a directory's owner, mode and time, to be set after
// the files handed over before it.
func (w *fileWriters) finishDir(p string, e *Entry) {
	w.pending.Add(1)
	w.jobs <- &fileJob{index: -1, path: p, e: e}
}

func (w *fileWriters) work() {
	defer w.workers.Done()
	h := sha256.New()
	for job := range w.jobs {
		if job.data == nil {
			if !w.bad.Load() {
				if err := w.finishDirNow(job.path, job.e); err != nil {
					w.fail(math.MaxInt, err)
				}
			}
			w.pending.Done()
			continue
		}
		if w.bad.Load() {
			for b := range job.data {
				w.free <- b[:cap(b)]
			}
		} else if err := w.writeOne(job, h); err != nil {
			w.fail(job.index, err)
		}
		w.pending.Done()
	}
}

// writeOne always consumes all of job.data, returning its buffers.
func (w *fileWriters) writeOne(job *fileJob, h interface {
	io.Writer
	Reset()
	Sum([]byte) []byte
}) (err error) {
	drain := func() {
		for b := range job.data {
			w.free <- b[:cap(b)]
		}
	}
	p, e := job.path, job.e
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		drain()
		return &os.PathError{Op: "create", Path: p, Err: err}
	}
	defer func() {
		if fd >= 0 {
			unix.Close(fd)
		}
	}()
	h.Reset()
	var werr error
	for b := range job.data {
		if werr == nil {
			h.Write(b)
			werr = writeAll(fd, b)
		}
		w.free <- b[:cap(b)]
	}
	if werr != nil {
		return &os.PathError{Op: "write", Path: p, Err: werr}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != e.Hash {
		return &CorruptError{ID: w.id, Path: e.Path, Field: "sha256", Expected: e.Hash, Got: got}
	}
	if w.chown && !(w.ownerOK && e.UID == w.uid && e.GID == w.gid) {
		if err := unix.Fchown(fd, e.UID, e.GID); err != nil {
			return &os.PathError{Op: "chown", Path: p, Err: err}
		}
	}
	// After chown, which clears setuid and setgid bits.
	if err := unix.Fchmod(fd, uint32(e.Mode)); err != nil {
		return &os.PathError{Op: "chmod", Path: p, Err: err}
	}
	if err := futimens(fd, e); err != nil {
		return &os.PathError{Op: "utimes", Path: p, Err: err}
	}
	cerr := unix.Close(fd)
	fd = -1
	if cerr != nil {
		return &os.PathError{Op: "close", Path: p, Err: cerr}
	}
	return nil
}

func (w *fileWriters) finishDirNow(p string, e *Entry) error {
	if w.chown {
		if err := unix.Lchown(p, e.UID, e.GID); err != nil {
			return &os.PathError{Op: "chown", Path: p, Err: err}
		}
	}
	if err := unix.Chmod(p, uint32(e.Mode)); err != nil {
		return &os.PathError{Op: "chmod", Path: p, Err: err}
	}
	return setMTime(p, e)
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrShortWrite
		}
		b = b[n:]
	}
	return nil
}

// futimens sets a file's times through its descriptor (utimensat with a
// NULL path), saving the path lookup of a utimes by name.
func futimens(fd int, e *Entry) error {
	ts := unix.NsecToTimespec(e.MTime.UnixNano())
	tss := [2]unix.Timespec{ts, ts}
	_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&tss[0])), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// fail keeps the error of the earliest entry: the one a sequential
// restore would have met first.
func (w *fileWriters) fail(index int, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil || index < w.errIdx {
		w.err, w.errIdx = err, index
	}
	w.bad.Store(true)
}

func (w *fileWriters) failed() bool { return w.bad.Load() }

// wait returns once every file handed over so far is finished.
func (w *fileWriters) wait() { w.pending.Wait() }

// close stops the workers after the files in flight and returns the first
// worker error.
func (w *fileWriters) close() error {
	close(w.jobs)
	w.workers.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
