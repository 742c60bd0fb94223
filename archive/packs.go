package archive

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/carbonguard/carbonguard/internal/durable"
)

// Content store (format 3). File contents are blobs, keyed by their
// SHA-256, kept once whatever snapshots hold them, in pack files:
//
//	<store>/packs/<pack>.pack  blobs, each one or more zstd frames (see blob.go), back to back
//	<store>/packs/<pack>.idx   one JSON line per blob: {"sha256":...,"offset":...,"length":...,"size":...}
//
// A pack counts only once its index exists: the index is written (durably)
// after the pack is synced, so a pack without one is a leftover of an
// interrupted create or prune and holds nothing any snapshot needs. Both
// are plain files readable with standard tools: dd the blob's bytes out of
// the pack and zstd -d them (docs/recover-by-hand.md).

const (
	packsDir       = "packs"
	packExt        = ".pack"
	idxExt         = ".idx"
	packTargetSize = 64 << 20 // a pack is closed once it reaches this size
)

// blobLoc is where a blob is stored.
type blobLoc struct {
	pack   int32 // index into contentIndex.packs
	offset int64
	length int64 // stored bytes (its frames)
	size   int64 // the content's size
}

// contentIndex maps blob hashes to their place, for every complete pack of
// the store: sorted arrays, about 64 bytes a blob.
type contentIndex struct {
	packs   []string // pack names (without extension)
	sums    [][32]byte
	locs    []blobLoc
	sorted  bool
	damaged []string // packs left out, and why
}

func (x *contentIndex) Len() int           { return len(x.sums) }
func (x *contentIndex) Less(i, j int) bool { return bytes.Compare(x.sums[i][:], x.sums[j][:]) < 0 }
func (x *contentIndex) Swap(i, j int) {
	x.sums[i], x.sums[j] = x.sums[j], x.sums[i]
	x.locs[i], x.locs[j] = x.locs[j], x.locs[i]
}

func (x *contentIndex) add(pack int32, sum [32]byte, l blobLoc) {
	l.pack = pack
	x.sums = append(x.sums, sum)
	x.locs = append(x.locs, l)
	x.sorted = false
}

func (x *contentIndex) sort() {
	if !x.sorted {
		sort.Sort(x)
		x.sorted = true
	}
}

// lookup finds a blob.
func (x *contentIndex) lookup(sum [32]byte) (blobLoc, bool) {
	x.sort()
	i := sort.Search(len(x.sums), func(i int) bool { return bytes.Compare(x.sums[i][:], sum[:]) >= 0 })
	if i < len(x.sums) && x.sums[i] == sum {
		return x.locs[i], true
	}
	return blobLoc{}, false
}

// idxLine is one line of a pack index.
func appendIdxLine(b []byte, sum [32]byte, l blobLoc) []byte {
	b = append(b, `{"sha256":"`...)
	b = hex.AppendEncode(b, sum[:])
	b = append(b, `","offset":`...)
	b = strconv.AppendInt(b, l.offset, 10)
	b = append(b, `,"length":`...)
	b = strconv.AppendInt(b, l.length, 10)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, l.size, 10)
	return append(b, "}\n"...)
}

// parseIdxLine reads a line written by appendIdxLine (exactly that form:
// the index is the store's own).
func parseIdxLine(line []byte) (sum [32]byte, l blobLoc, err error) {
	bad := func() ([32]byte, blobLoc, error) {
		return sum, l, fmt.Errorf("malformed index line %q", truncate(line, 120))
	}
	rest, ok := bytes.CutPrefix(line, []byte(`{"sha256":"`))
	if !ok || len(rest) < 64 {
		return bad()
	}
	if _, err := hex.Decode(sum[:], rest[:64]); err != nil {
		return bad()
	}
	rest = rest[64:]
	var fields [3]int64
	for i, key := range []string{`","offset":`, `,"length":`, `,"size":`} {
		if rest, ok = bytes.CutPrefix(rest, []byte(key)); !ok {
			return bad()
		}
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		v, err := strconv.ParseInt(string(rest[:n]), 10, 64)
		if err != nil {
			return bad()
		}
		fields[i], rest = v, rest[n:]
	}
	if string(rest) != "}" {
		return bad()
	}
	return sum, blobLoc{offset: fields[0], length: fields[1], size: fields[2]}, nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// loadIndex reads the index of every complete pack in dir.
func loadIndex(dir string) (*contentIndex, error) {
	x := &contentIndex{}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return x, nil
	}
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), idxExt)
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		if err := x.loadPack(dir, name); err != nil {
			// A damaged pack or index holds nothing that can be trusted:
			// the snapshots that need its blobs find them missing (verify
			// says which); the others are not concerned.
			x.damaged = append(x.damaged, err.Error())
		}
	}
	x.sort()
	return x, nil
}

// loadPack adds one pack's blobs, all or none.
func (x *contentIndex) loadPack(dir, name string) error {
	f, err := os.Open(filepath.Join(dir, name+idxExt))
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := os.Stat(filepath.Join(dir, name+packExt))
	if err != nil {
		return fmt.Errorf("pack %s has an index but no pack file: %w", name, err)
	}
	var sums [][32]byte
	var locs []blobLoc
	br := bufio.NewReaderSize(f, 64<<10)
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if err == io.EOF && len(line) == 0 {
			break
		}
		if err != nil {
			return fmt.Errorf("index of pack %s, line %d: %w", name, n, err)
		}
		sum, l, perr := parseIdxLine(bytes.TrimSuffix(line, []byte("\n")))
		if perr != nil {
			return fmt.Errorf("index of pack %s, line %d: %w", name, n, perr)
		}
		if l.offset < 0 || l.length <= 0 || l.size < 0 || l.offset+l.length > st.Size() {
			return fmt.Errorf("index of pack %s, line %d: blob outside the pack (%d bytes)", name, n, st.Size())
		}
		sums, locs = append(sums, sum), append(locs, l)
	}
	pack := int32(len(x.packs))
	x.packs = append(x.packs, name)
	for i := range sums {
		x.add(pack, sums[i], locs[i])
	}
	return nil
}

func newPackName() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// packWriter appends blobs to packs in dir, closing a pack once it reaches
// packTargetSize. Blobs are written frame by frame; a blob found to be a
// duplicate only after its frames were written (a file larger than one
// segment) is cut off again (discard).
type packWriter struct {
	dir     string
	noSync  bool
	f       *os.File
	name    string
	size    int64 // bytes in the current pack
	start   int64 // where the current blob began
	idx     *bufio.Writer
	idxFile *os.File
	line    []byte
	blobs   int        // in the current pack
	done    []packInfo // complete packs
}

// packInfo is a complete pack.
type packInfo struct {
	Name  string `json:"name"`
	Size  int64  `json:"size"`  // of the pack file
	Blobs int    `json:"blobs"` // in it
}

func newPackWriter(dir string, noSync bool) *packWriter {
	return &packWriter{dir: dir, noSync: noSync}
}

// frame appends one frame of the current blob.
func (w *packWriter) frame(p []byte) error {
	if w.f == nil {
		if err := w.open(); err != nil {
			return err
		}
	}
	n, err := w.f.Write(p)
	w.size += int64(n)
	return err
}

func (w *packWriter) open() error {
	w.name = newPackName()
	f, err := os.OpenFile(filepath.Join(w.dir, w.name+packExt), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	idx, err := os.OpenFile(filepath.Join(w.dir, "."+w.name+idxExt), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		f.Close()
		return err
	}
	w.f, w.idxFile, w.idx, w.size, w.start, w.blobs = f, idx, bufio.NewWriterSize(idx, 64<<10), 0, 0, 0
	return nil
}

// commit ends the current blob and records it; it returns where it lies.
func (w *packWriter) commit(sum [32]byte, size int64) (string, blobLoc, error) {
	if w.f == nil { // an empty blob has one frame at least: never
		if err := w.open(); err != nil {
			return "", blobLoc{}, err
		}
	}
	l := blobLoc{offset: w.start, length: w.size - w.start, size: size}
	w.line = appendIdxLine(w.line[:0], sum, l)
	if _, err := w.idx.Write(w.line); err != nil {
		return "", blobLoc{}, err
	}
	name := w.name
	w.start = w.size
	w.blobs++
	if w.size >= packTargetSize {
		if err := w.finish(); err != nil {
			return "", blobLoc{}, err
		}
	}
	return name, l, nil
}

// discard cuts the current blob off.
func (w *packWriter) discard() error {
	if w.f == nil || w.size == w.start {
		return nil
	}
	if err := w.f.Truncate(w.start); err != nil {
		return err
	}
	if _, err := w.f.Seek(w.start, io.SeekStart); err != nil {
		return err
	}
	w.size = w.start
	return nil
}

// finish completes the current pack: pack synced, then its index written
// and synced under its final name.
func (w *packWriter) finish() error {
	if w.f == nil {
		return nil
	}
	f, idx := w.f, w.idxFile
	w.f, w.idxFile = nil, nil
	err := w.idx.Flush()
	if err == nil && !w.noSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && !w.noSync {
		err = idx.Sync()
	}
	if cerr := idx.Close(); err == nil {
		err = cerr
	}
	if err == nil && w.size == 0 {
		os.Remove(filepath.Join(w.dir, w.name+packExt))
		os.Remove(idx.Name())
		return nil
	}
	if err == nil {
		err = os.Rename(idx.Name(), filepath.Join(w.dir, w.name+idxExt))
	}
	if err != nil {
		return err
	}
	w.done = append(w.done, packInfo{Name: w.name, Size: w.size, Blobs: w.blobs})
	return nil
}

// close finishes the last pack and syncs the directory.
func (w *packWriter) close() ([]packInfo, error) {
	if err := w.finish(); err != nil {
		return nil, err
	}
	if !w.noSync {
		if err := durable.SyncDir(w.dir); err != nil {
			return nil, err
		}
	}
	return w.done, nil
}

// abort closes without completing anything (the caller removes the files).
func (w *packWriter) abort() {
	if w.f != nil {
		w.f.Close()
		w.idxFile.Close()
		w.f = nil
	}
}

// contentIndex loads the index of the store's packs.
func (s *Store) contentIndex() (*contentIndex, error) {
	x, err := loadIndex(filepath.Join(s.dir, packsDir))
	if err != nil {
		return nil, fmt.Errorf("reading the snapshot store's pack indexes: %w", err)
	}
	return x, nil
}

// adoptPacks moves complete packs (written by a create or an import in its
// partial directory) into the store: each pack before its index, so that
// an index always names a pack that is there.
func (s *Store) adoptPacks(from string, packs []packInfo, noSync bool) error {
	if len(packs) == 0 {
		return nil
	}
	dir := filepath.Join(s.dir, packsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, p := range packs {
		for _, ext := range []string{packExt, idxExt} {
			if err := os.Rename(filepath.Join(from, p.Name+ext), filepath.Join(dir, p.Name+ext)); err != nil {
				return err
			}
		}
	}
	if noSync {
		return nil
	}
	if err := durable.SyncDir(dir); err != nil {
		return err
	}
	return durable.SyncDir(from)
}
