package archive

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// packFiles keeps the store's packs open for reading (ReadAt: safe from
// several goroutines).
type packFiles struct {
	dir   string
	idx   *contentIndex
	mu    sync.Mutex
	files map[int32]*os.File
}

func newPackFiles(dir string, idx *contentIndex) *packFiles {
	return &packFiles{dir: dir, idx: idx, files: map[int32]*os.File{}}
}

func (p *packFiles) file(pack int32) (*os.File, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f, ok := p.files[pack]; ok {
		return f, nil
	}
	f, err := os.Open(filepath.Join(p.dir, p.idx.packs[pack]+packExt))
	if err != nil {
		return nil, err
	}
	p.files[pack] = f
	return f, nil
}

func (p *packFiles) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.files {
		f.Close()
	}
	p.files = nil
	return nil
}

// blobReader reads blobs' contents (one per goroutine: it holds a decoder
// and buffers).
type blobReader struct {
	packs *packFiles
	id    string // the snapshot, for errors
	dec   *zstd.Decoder
	comp  []byte
	out   []byte
	r     bytes.Reader
}

func newBlobReader(packs *packFiles, id string) (*blobReader, error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(false),
		zstd.WithDecoderMaxWindow(segmentSize*4), zstd.WithDecoderMaxMemory(segmentSize*8))
	if err != nil {
		return nil, err
	}
	return &blobReader{packs: packs, id: id, dec: dec}, nil
}

func (b *blobReader) close() { b.dec.Close() }

// open returns a reader of the content of entry e (a file), which ends
// with an error unless it is exactly e.Size bytes. The caller checks the
// hash.
func (b *blobReader) open(e *Entry) (io.Reader, error) {
	if e.Size == 0 {
		return bytes.NewReader(nil), nil
	}
	var sum [32]byte
	if _, err := hex.Decode(sum[:], []byte(e.Hash)); err != nil {
		return nil, &CorruptError{ID: b.id, Path: e.Path, Field: "sha256", Err: err}
	}
	l, ok := b.packs.idx.lookup(sum)
	if !ok {
		return nil, &IncompleteError{ID: b.id, Reason: fmt.Sprintf("the content of %s (sha256 %s) is missing from the store", quote(e.Path), e.Hash)}
	}
	if l.size != e.Size {
		return nil, &CorruptError{ID: b.id, Path: e.Path, Field: "size", Expected: strconv.FormatInt(e.Size, 10), Got: strconv.FormatInt(l.size, 10) + " (in the store's index)"}
	}
	f, err := b.packs.file(l.pack)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &IncompleteError{ID: b.id, Reason: fmt.Sprintf("the pack holding %s is missing", quote(e.Path)), Err: err}
		}
		return nil, err
	}
	bad := func(err error) error {
		return &CorruptError{ID: b.id, Path: e.Path, Field: "content", Err: fmt.Errorf("pack %s at %d: %w", b.packs.idx.packs[l.pack], l.offset, err)}
	}
	if l.size <= segmentSize && l.length <= segmentSize+segmentSize/64+1024 {
		// One frame: read and decode it at once.
		b.comp = grow(b.comp, int(l.length))
		if _, err := f.ReadAt(b.comp, l.offset); err != nil {
			return nil, bad(err)
		}
		out, err := b.dec.DecodeAll(b.comp, b.out[:0])
		if err != nil {
			return nil, bad(err)
		}
		b.out = out
		if int64(len(out)) != e.Size {
			return nil, bad(fmt.Errorf("%d bytes, expected %d", len(out), e.Size))
		}
		b.r.Reset(out)
		return &b.r, nil
	}
	if err := b.dec.Reset(io.NewSectionReader(f, l.offset, l.length)); err != nil {
		return nil, bad(err)
	}
	return &sizedReader{r: b.dec, left: e.Size, bad: bad}, nil
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// sizedReader checks that r yields exactly left bytes.
type sizedReader struct {
	r    io.Reader
	left int64
	bad  func(error) error
}

func (s *sizedReader) Read(p []byte) (int, error) {
	if s.left == 0 {
		// Anything more is corruption.
		var one [1]byte
		if n, _ := s.r.Read(one[:]); n > 0 {
			return 0, s.bad(errors.New("longer than its size"))
		}
		return 0, io.EOF
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	n, err := s.r.Read(p)
	s.left -= int64(n)
	if err == io.EOF && s.left > 0 {
		return n, s.bad(io.ErrUnexpectedEOF)
	}
	if err != nil && err != io.EOF {
		return n, s.bad(err)
	}
	return n, nil
}
