package archive

import (
	"errors"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"
)

// The stages of create, verify and restore run on separate goroutines,
// joined by small fixed pools of buffers: on two cores, reading and hashing
// files, compressing, decompressing and writing files each take a share of
// the time, and a single goroutine doing them in turn leaves a core idle.
// Memory stays bounded by the pools, whatever the tree's size.

const (
	pipeBufSize = 1 << 20
	pipeBufs    = 4
)

type chunk struct {
	b   []byte
	err error
}

// aheadReader decodes ahead: a goroutine reads r into pooled buffers while
// the consumer works on the previous ones. Errors arrive in order, after
// the data read before them.
type aheadReader struct {
	full   chan chunk
	free   chan []byte
	stop   chan struct{}
	done   chan struct{}
	cur    []byte
	curBuf []byte
	err    error
}

func newAheadReader(r io.Reader) *aheadReader {
	a := &aheadReader{
		full: make(chan chunk, pipeBufs), free: make(chan []byte, pipeBufs),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	for range pipeBufs - 1 {
		a.free <- make([]byte, pipeBufSize)
	}
	go a.fill(r)
	return a
}

func (a *aheadReader) fill(r io.Reader) {
	defer close(a.done)
	for {
		var b []byte
		select {
		case b = <-a.free:
		case <-a.stop:
			return
		}
		n, err := io.ReadFull(r, b)
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		select {
		case a.full <- chunk{b: b[:n], err: err}:
		case <-a.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

func (a *aheadReader) Read(p []byte) (int, error) {
	for len(a.cur) == 0 {
		if a.err != nil {
			return 0, a.err
		}
		if a.curBuf != nil {
			a.free <- a.curBuf[:cap(a.curBuf)]
			a.curBuf = nil
		}
		c := <-a.full
		a.cur, a.curBuf, a.err = c.b, c.b, c.err
	}
	n := copy(p, a.cur)
	a.cur = a.cur[n:]
	return n, nil
}

// Close stops the goroutine and waits for it, so that the source can be
// closed safely afterwards.
func (a *aheadReader) Close() error {
	select {
	case <-a.stop:
	default:
		close(a.stop)
	}
	<-a.done
	return nil
}

// frameWriter compresses with zstd on several goroutines: the stream is cut
// into segments of frameSize, each compressed as an independent frame, and
// the frames are written in order. Concatenated frames are one valid zstd
// stream (RFC 8878, section 3.1), read back by any decoder; each frame
// carries its own checksum. Independent frames cost a little history at
// each cut (under 0.1% of the size at 2 MiB) and let two cores compress at
// once without the overlap and buffering of the encoder's own concurrent
// mode. Memory: frameBufs input segments and their outputs.
type frameWriter struct {
	enc   *zstd.Encoder
	w     io.Writer
	cur   *frameJob
	free  chan *frameJob
	work  chan *frameJob
	order chan *frameJob
	done  chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	err   error
	shut  bool
}

const (
	frameSize = 2 << 20
	frameBufs = 6
)

// frameJob is one segment and its frame; the jobs are reused.
type frameJob struct {
	in   []byte
	out  []byte
	done chan struct{}
}

func newFrameWriter(w io.Writer, workers int) (*frameWriter, error) {
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(workers),
		zstd.WithWindowSize(frameSize),
		zstd.WithEncoderCRC(true),
	)
	if err != nil {
		return nil, err
	}
	f := &frameWriter{
		enc: enc, w: w, free: make(chan *frameJob, frameBufs),
		work: make(chan *frameJob, frameBufs), order: make(chan *frameJob, frameBufs), done: make(chan struct{}),
	}
	for range frameBufs {
		// Output room for an incompressible segment, so that EncodeAll
		// never grows it.
		f.free <- &frameJob{in: make([]byte, 0, frameSize), out: make([]byte, 0, frameSize+frameSize/64+1024), done: make(chan struct{}, 1)}
	}
	f.cur = <-f.free
	for range workers {
		f.wg.Add(1)
		go f.compress()
	}
	go f.flush()
	return f, nil
}

func (f *frameWriter) compress() {
	defer f.wg.Done()
	for j := range f.work {
		j.out = f.enc.EncodeAll(j.in, j.out[:0])
		j.done <- struct{}{}
	}
}

func (f *frameWriter) flush() {
	defer close(f.done)
	for j := range f.order {
		<-j.done
		if f.failed() == nil {
			if _, err := f.w.Write(j.out); err != nil {
				f.mu.Lock()
				f.err = err
				f.mu.Unlock()
			}
		}
		j.in = j.in[:0]
		f.free <- j
	}
}

func (f *frameWriter) failed() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *frameWriter) dispatch() {
	f.order <- f.cur
	f.work <- f.cur
}

func (f *frameWriter) Write(p []byte) (int, error) {
	if f.shut {
		return 0, errWriterClosed
	}
	if err := f.failed(); err != nil {
		return 0, err
	}
	n := 0
	for len(p) > 0 {
		in := f.cur.in
		k := copy(in[len(in):cap(in)], p)
		f.cur.in = in[:len(in)+k]
		p, n = p[k:], n+k
		if len(f.cur.in) == cap(f.cur.in) {
			f.dispatch()
			f.cur = <-f.free
		}
	}
	return n, nil
}

var errWriterClosed = errors.New("write after close")

// space returns the free tail of the current segment, for a producer to
// read into directly; commit(n) then takes its first n bytes.
func (f *frameWriter) space() ([]byte, error) {
	if f.shut {
		return nil, errWriterClosed
	}
	if err := f.failed(); err != nil {
		return nil, err
	}
	return f.cur.in[len(f.cur.in):cap(f.cur.in)], nil
}

func (f *frameWriter) commit(n int) error {
	f.cur.in = f.cur.in[:len(f.cur.in)+n]
	if len(f.cur.in) == cap(f.cur.in) {
		f.dispatch()
		f.cur = <-f.free
	}
	return nil
}

// sink is where the archiver writes the tar stream: Write for headers, and
// space/commit to read file contents into without a copy.
type sink interface {
	io.Writer
	space() ([]byte, error)
	commit(n int) error
}

func newSink(w io.Writer) sink {
	if s, ok := w.(sink); ok {
		return s
	}
	return &copySink{Writer: w, buf: make([]byte, pipeBufSize)}
}

// copySink gives a compressor without its own buffers (gzip) the same
// interface, through one buffer.
type copySink struct {
	io.Writer
	buf []byte
}

func (c *copySink) space() ([]byte, error) { return c.buf, nil }

func (c *copySink) commit(n int) error {
	_, err := c.Write(c.buf[:n])
	return err
}

// Close compresses and writes what is left and waits until w has it all;
// it does not close w.
func (f *frameWriter) Close() error {
	if f.shut {
		return f.failed()
	}
	f.shut = true
	if len(f.cur.in) > 0 {
		f.dispatch()
	}
	f.cur = nil
	close(f.work)
	close(f.order)
	f.wg.Wait()
	<-f.done
	f.enc.Close()
	return f.failed()
}

// writeBehindFile counts what is written to f and, when durable, starts
// the write-back of every completed stretch as it goes
// (sync_file_range(SYNC_FILE_RANGE_WRITE)), so that the fsync before the
// manifest waits for the tail only instead of the whole archive.
type writeBehindFile struct {
	fd      int
	w       io.Writer
	n       int64
	flushed int64
	durable bool
}

const writeBehindStretch = 8 << 20

func (c *writeBehindFile) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if c.durable && c.n-c.flushed >= writeBehindStretch {
		// Advisory: a file system without it still gets the fsync.
		_ = unix.SyncFileRange(c.fd, c.flushed, c.n-c.flushed, unix.SYNC_FILE_RANGE_WRITE)
		c.flushed = c.n
	}
	return n, err
}
