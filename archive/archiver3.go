package archive

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// packArchiver writes a format-3 snapshot: the entry list, and the content
// of every file whose content the store does not hold yet, as blobs (see
// blobSink). A file the stat cache vouches for is not read at all.
type packArchiver struct {
	sink    *blobSink
	idx     *contentIndex
	list    *entriesWriter
	firsts  map[string]*Entry
	files   int
	bytes   int64
	stored  int64 // stored bytes of the content this snapshot holds (its full weight)
	pending []int // slots of blobs this create stored more than once: their length comes at the end
	readN   int   // files read
	readB   int64 // bytes read
	reused  int   // files whose hash came from the stat cache
	prog    *progress
}

func (a *packArchiver) add(n *node) error {
	e := entryOf(n)
	switch n.kind() {
	case unix.S_IFDIR:
		e.Type = TypeDir
	case unix.S_IFLNK:
		e.Type, e.Link = TypeSymlink, n.link
	case unix.S_IFREG:
		a.files++
		if n.first != "" {
			f := a.firsts[n.first]
			if f == nil {
				return &ChangedError{Path: n.rel, What: "its other name " + quote(n.first) + " was not archived"}
			}
			e.Type, e.Link, e.Size, e.Hash = TypeHardlink, f.Path, f.Size, f.Hash
			a.prog.add(0, 1)
			break
		}
		e.Type, e.Size = TypeFile, n.st.Size
		if n.st.Nlink > 1 {
			e.NLink = int(n.st.Nlink)
		}
		sum, err := a.content(n)
		if err != nil {
			return err
		}
		e.Hash = hex.EncodeToString(sum[:])
		a.bytes += e.Size
		a.prog.add(e.Size, 1)
		if e.NLink > 1 {
			first := e
			a.firsts[e.Path] = &first
		}
	default:
		return &ChangedError{Path: n.rel, What: "became a " + unstorable(n)}
	}
	return a.list.add(&e)
}

// content returns the hash of n's content, storing it when the store does
// not hold it yet.
func (a *packArchiver) content(n *node) ([32]byte, error) {
	if n.cached {
		if n.st.Size == 0 {
			a.reused++
			return n.sum, nil
		}
		if l, ok := a.idx.lookup(n.sum); ok && l.size == n.st.Size {
			a.reused++
			a.stored += l.length
			return n.sum, nil
		}
		// The blob is gone (or never was): read the file after all.
	}
	return a.read(n)
}

// read streams one file into the sink, hashing it as it is read, and fails
// when the file changed while it was read.
func (a *packArchiver) read(n *node) ([32]byte, error) {
	var sum [32]byte
	fd, err := unix.Open(n.abs, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ELOOP) {
			return sum, &ChangedError{Path: n.rel, What: "removed or replaced"}
		}
		return sum, &os.PathError{Op: "open", Path: n.abs, Err: err}
	}
	f := os.NewFile(uintptr(fd), n.abs)
	defer f.Close()
	a.sink.begin()
	for remaining := n.st.Size; remaining > 0; {
		space, err := a.sink.space()
		if err != nil {
			a.sink.abandon()
			return sum, err
		}
		chunk := space[:min(int64(len(space)), remaining)]
		k, err := io.ReadFull(f, chunk)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			a.sink.abandon()
			return sum, &ChangedError{Path: n.rel, What: fmt.Sprintf("short read: %d of %d bytes", n.st.Size-remaining+int64(k), n.st.Size)}
		}
		if err != nil {
			a.sink.abandon()
			return sum, err
		}
		a.sink.fill(k)
		remaining -= int64(k)
	}
	testHook("create:read", n.rel)
	var after unix.Stat_t
	if err := unix.Fstat(fd, &after); err != nil {
		a.sink.abandon()
		return sum, &os.PathError{Op: "fstat", Path: n.abs, Err: err}
	}
	if what := changed(&n.st, &after); what != "" {
		a.sink.abandon()
		return sum, &ChangedError{Path: n.rel, What: what}
	}
	sum, stored, slot, dup := a.sink.end()
	a.account(stored, slot, dup)
	return sum, nil
}

// finish completes the packs and the content's weight.
func (a *packArchiver) finish() ([]packInfo, error) {
	packs, err := a.sink.close()
	if err != nil {
		return nil, err
	}
	lens := a.sink.lengths()
	for _, l := range lens {
		a.stored += l
	}
	for _, slot := range a.pending {
		a.stored += lens[slot]
	}
	return packs, nil
}

// importEntries stores the contents of a checked tar stream (Import).
func (a *packArchiver) importEntries(ctx context.Context, st *stream) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, e, err := st.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch e.Type {
		case TypeHardlink:
			a.files++
		case TypeFile:
			a.files++
			sum, err := a.readFrom(st.tr, e.Size, func(err error) error { return st.streamErr(err) })
			if err != nil {
				return err
			}
			if got := hex.EncodeToString(sum[:]); got != e.Hash {
				return &CorruptError{ID: st.m.ID, Path: e.Path, Field: "sha256", Expected: e.Hash, Got: got}
			}
			a.bytes += e.Size
			a.prog.add(e.Size, 1)
		}
		if err := a.list.add(e); err != nil {
			return err
		}
	}
}

// readFrom stores size bytes from r (a tar entry's content) as a blob.
func (a *packArchiver) readFrom(r io.Reader, size int64, errf func(error) error) ([32]byte, error) {
	var sum [32]byte
	a.sink.begin()
	for remaining := size; remaining > 0; {
		space, err := a.sink.space()
		if err != nil {
			a.sink.abandon()
			return sum, err
		}
		chunk := space[:min(int64(len(space)), remaining)]
		k, err := io.ReadFull(r, chunk)
		if err != nil {
			a.sink.abandon()
			return sum, errf(err)
		}
		a.sink.fill(k)
		remaining -= int64(k)
	}
	sum, stored, slot, dup := a.sink.end()
	a.account(stored, slot, dup)
	return sum, nil
}

// account adds a stored blob to the snapshot's weight.
func (a *packArchiver) account(stored int64, slot int, dup bool) {
	switch {
	case !dup: // new: counted with the sink's lengths at the end
	case slot >= 0: // stored earlier by this run
		a.pending = append(a.pending, slot)
	default: // in the store already (or empty)
		a.stored += stored
	}
}
