package archive

import (
	"crypto/sha256"
	"errors"
	"hash"
	"sync"
)

// blobSink stores file contents as blobs in packs, deduplicated by
// SHA-256 against the store and against what it stored itself. One
// goroutine (the caller) feeds it a file at a time, segment by segment,
// reading straight into the sink's buffers and hashing as it reads; the
// segments are encoded on worker goroutines (compressed, or framed raw when
// their content does not compress, see segmentEncoder) and written in
// order by a writer goroutine. So reading and hashing overlap encoding and
// writing, and memory is bounded by the pool of segment buffers.
type blobSink struct {
	store *contentIndex    // the store's packs (read only here)
	seen  map[[32]byte]int // blobs stored by this sink: their slot in lengths
	h     hash.Hash
	free  chan *segJob
	work  chan *segJob
	order chan *segJob
	done  chan struct{}
	wg    sync.WaitGroup
	pw    *packWriter
	cur   *segJob // the segment being filled
	blobN int     // segments of the current blob dispatched so far
	size  int64   // bytes of the current blob so far
	mu    sync.Mutex
	err   error
	lens  []int64 // stored length of each blob this sink stored, by slot (filled by the writer)
	shut  bool
}

type segAction int

const (
	segMore    segAction = iota // more segments of this blob follow
	segCommit                   // last segment: record the blob
	segDiscard                  // the blob is a duplicate: cut off what was written of it
)

type segJob struct {
	in     []byte
	out    []byte
	raw    bool
	action segAction
	sum    [32]byte
	size   int64
	slot   int
	done   chan struct{}
}

const sinkBufs = 8 // segments in flight: 8 MiB in, about as much out

func newBlobSink(store *contentIndex, pw *packWriter, workers int) (*blobSink, error) {
	b := &blobSink{
		store: store, seen: map[[32]byte]int{}, h: sha256.New(), pw: pw,
		free: make(chan *segJob, sinkBufs), work: make(chan *segJob, sinkBufs), order: make(chan *segJob, sinkBufs),
		done: make(chan struct{}),
	}
	for range sinkBufs {
		b.free <- &segJob{in: make([]byte, 0, segmentSize), out: make([]byte, 0, segmentSize+segmentSize/64+1024), done: make(chan struct{}, 1)}
	}
	for range workers {
		enc, err := newSegmentEncoder()
		if err != nil {
			return nil, err
		}
		b.wg.Add(1)
		go b.encode(enc)
	}
	go b.write()
	return b, nil
}

func (b *blobSink) encode(enc *segmentEncoder) {
	defer b.wg.Done()
	for j := range b.work {
		if j.action != segDiscard {
			j.out, j.raw = enc.encode(j.out[:0], j.in)
		}
		j.done <- struct{}{}
	}
}

func (b *blobSink) write() {
	defer close(b.done)
	for j := range b.order {
		<-j.done
		if b.failed() == nil {
			if err := b.writeJob(j); err != nil {
				b.fail(err)
			}
		}
		j.in, j.out = j.in[:0], j.out[:0]
		b.free <- j
	}
}

func (b *blobSink) writeJob(j *segJob) error {
	if j.action == segDiscard {
		return b.pw.discard()
	}
	if err := b.pw.frame(j.out); err != nil {
		return err
	}
	if j.action == segCommit {
		_, l, err := b.pw.commit(j.sum, j.size)
		if err != nil {
			return err
		}
		b.mu.Lock()
		b.lens[j.slot] = l.length
		b.mu.Unlock()
	}
	return nil
}

func (b *blobSink) fail(err error) {
	b.mu.Lock()
	if b.err == nil {
		b.err = err
	}
	b.mu.Unlock()
}

func (b *blobSink) failed() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

var errSinkClosed = errors.New("blob sink closed")

// begin starts a blob.
func (b *blobSink) begin() {
	b.h.Reset()
	b.blobN, b.size = 0, 0
}

// space returns the free tail of the current segment to read into.
func (b *blobSink) space() ([]byte, error) {
	if b.shut {
		return nil, errSinkClosed
	}
	if err := b.failed(); err != nil {
		return nil, err
	}
	if b.cur == nil {
		b.cur = <-b.free
	}
	return b.cur.in[len(b.cur.in):segmentSize], nil
}

// fill takes the first n bytes of space into the blob, hashing them; a
// full segment is dispatched.
func (b *blobSink) fill(n int) {
	in := b.cur.in[:len(b.cur.in)+n]
	b.h.Write(in[len(b.cur.in):])
	b.cur.in = in
	b.size += int64(n)
	if len(in) == segmentSize {
		b.dispatch(segMore)
	}
}

func (b *blobSink) dispatch(a segAction) {
	j := b.cur
	b.cur = nil
	j.action = a
	b.blobN++
	b.order <- j
	b.work <- j
}

// end completes the blob: it returns the content's hash and whether it
// was stored already (in the store, or earlier by this sink), and, when
// known now, its stored length (else slot >= 0 names it in lengths()).
func (b *blobSink) end() (sum [32]byte, stored int64, slot int, dup bool) {
	copy(sum[:], b.h.Sum(nil))
	slot = -1
	if l, ok := b.store.lookup(sum); ok {
		dup, stored = true, l.length
	} else if s, ok := b.seen[sum]; ok {
		dup, slot = true, s
	}
	switch {
	case b.size == 0:
		// Empty content is no blob.
		if b.cur != nil {
			b.free <- b.cur
			b.cur = nil
		}
		return sum, 0, -1, true
	case dup && b.blobN == 0:
		// Never dispatched: drop the buffer.
		b.cur.in = b.cur.in[:0]
		b.free <- b.cur
		b.cur = nil
	case dup:
		if b.cur == nil {
			b.cur = <-b.free
		}
		b.dispatch(segDiscard)
	default:
		if b.cur == nil {
			// The content ended on a segment boundary: an empty last
			// frame carries the commit.
			b.cur = <-b.free
		}
		b.mu.Lock()
		slot = len(b.lens)
		b.lens = append(b.lens, 0)
		b.mu.Unlock()
		b.seen[sum] = slot
		b.cur.sum, b.cur.size, b.cur.slot = sum, b.size, slot
		b.dispatch(segCommit)
	}
	return sum, stored, slot, dup
}

// abandon drops the current blob (its file changed while read, say): what
// was dispatched of it is cut off again.
func (b *blobSink) abandon() {
	if b.blobN > 0 {
		if b.cur == nil {
			b.cur = <-b.free
		}
		b.dispatch(segDiscard)
	} else if b.cur != nil {
		b.cur.in = b.cur.in[:0]
		b.free <- b.cur
		b.cur = nil
	}
}

// close waits for everything dispatched to be written and completes the
// packs.
func (b *blobSink) close() ([]packInfo, error) {
	if !b.shut {
		b.shut = true
		close(b.work)
		close(b.order)
		b.wg.Wait()
		<-b.done
	}
	if err := b.failed(); err != nil {
		b.pw.abort()
		return nil, err
	}
	return b.pw.close()
}

// lengths returns the stored length of every blob this sink stored, by
// slot (after close).
func (b *blobSink) lengths() []int64 { return b.lens }
