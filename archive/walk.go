package archive

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
)

// node is one file-system object met while walking a tree.
type node struct {
	rel      string // relative path, "." for the root
	abs      string
	st       unix.Stat_t
	link     string // symlink target
	excluded bool   // a directory whose contents are excluded
	listErr  error  // a directory that could not be listed (it has no children then)
	first    string // a further name of a file met earlier under this name (a hard link)
	cached   bool   // the stat cache vouches for sum: the file need not be read
	sum      [32]byte
}

func (n *node) kind() uint32 { return n.st.Mode & unix.S_IFMT }

// walkTree visits root and everything below it in a fixed order (a
// directory, then its children sorted by name, depth first), so that parents
// always come before their contents. Paths in exclude are visited (as
// directories without contents) or skipped (anything else). A directory that
// cannot be listed is visited with listErr set and no children: fn decides
// whether that ends the walk.
func walkTree(ctx context.Context, root string, exclude map[string]bool, fn func(*node) error) error {
	var visit func(rel, abs string) error
	visit = func(rel, abs string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := &node{rel: rel, abs: abs}
		if err := unix.Lstat(abs, &n.st); err != nil {
			return &os.PathError{Op: "lstat", Path: abs, Err: err}
		}
		isDir := n.kind() == unix.S_IFDIR
		if exclude[rel] {
			if !isDir {
				return nil
			}
			n.excluded = true
		}
		if n.kind() == unix.S_IFLNK {
			t, err := os.Readlink(abs)
			if err != nil {
				return err
			}
			n.link = t
		}
		var names []string
		if isDir && !n.excluded {
			names, n.listErr = readNames(abs)
		}
		if err := fn(n); err != nil {
			return err
		}
		for _, name := range names {
			childRel := name
			if rel != "." {
				childRel = rel + "/" + name
			}
			if err := visit(childRel, filepath.Join(abs, name)); err != nil {
				return err
			}
		}
		return nil
	}
	return visit(".", root)
}

func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	slices.Sort(names)
	return names, nil
}

// walkResult is what Create's walk found.
type walkResult struct {
	bytes       int64 // content bytes, each inode once
	files       int   // regular files and further names
	cached      int   // files the stat cache vouches for
	cachedBytes int64 // their bytes
	problems    []Unstorable
}

// walkInto walks the tree once for Create: it lists every entry a snapshot
// cannot hold (see unstorable), sums what will be archived (for the space
// check and the progress bar's totals), marks the further names of files
// with several names and the files the stat cache (when not nil) vouches
// for, and writes the nodes to sp (when not nil) until a problem is found.
func walkInto(ctx context.Context, root string, exclude map[string]bool, sp *spill, cache *statCache) (*walkResult, error) {
	w := &walkResult{}
	firsts := map[[2]uint64]string{}
	err := walkTree(ctx, root, exclude, func(n *node) error {
		if why := unstorable(n); why != "" {
			w.problems = append(w.problems, Unstorable{Path: n.rel, Reason: why})
			return nil
		}
		if n.kind() == unix.S_IFREG {
			w.files++
			first := ""
			if n.st.Nlink > 1 {
				k := [2]uint64{n.st.Dev, n.st.Ino}
				if f, seen := firsts[k]; seen {
					first = f
				} else {
					firsts[k] = n.rel
				}
			}
			if first == "" {
				w.bytes += n.st.Size
				if n.sum, n.cached = cache.lookup(n); n.cached {
					w.cached++
					w.cachedBytes += n.st.Size
				}
			}
			n.first = first
		}
		if sp != nil && len(w.problems) == 0 {
			return sp.put(n)
		}
		return nil
	})
	return w, err
}

// unstorable says why a snapshot cannot hold n, or "". Links are stored as
// links whatever they point at; device files, FIFOs and sockets are not
// stored (a restore never creates them), nor is anything carbonguard
// cannot read.
func unstorable(n *node) string {
	switch n.kind() {
	case unix.S_IFDIR:
		if n.listErr != nil {
			return "directory cannot be listed: " + errnoText(n.listErr)
		}
	case unix.S_IFREG:
		if err := unix.Faccessat(unix.AT_FDCWD, n.abs, unix.R_OK, unix.AT_EACCESS); err != nil {
			return "file cannot be read: " + errnoText(err)
		}
	case unix.S_IFLNK:
	case unix.S_IFCHR:
		return "character device"
	case unix.S_IFBLK:
		return "block device"
	case unix.S_IFIFO:
		return "FIFO (named pipe)"
	case unix.S_IFSOCK:
		return "socket"
	default:
		return fmt.Sprintf("unknown file type %o", n.kind())
	}
	return ""
}

// errnoText is the system's text for an error, without the path (which the
// caller quotes itself).
func errnoText(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}

func mtimeOf(st *unix.Stat_t) (sec, nsec int64) { return st.Mtim.Sec, st.Mtim.Nsec }

// spill keeps the walk's nodes on disk between the walk and the archiving
// (Create walks the tree once: the walk finds every entry a snapshot cannot
// hold before anything is archived, and its result is read back from here
// rather than held in memory or walked again). A record holds what the
// archive and the change checks need of a node.
type spill struct {
	f   *os.File
	bw  *bufio.Writer
	br  *bufio.Reader
	buf []byte
}

func newSpill(path string) (*spill, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	return &spill{f: f, bw: bufio.NewWriterSize(f, 256<<10)}, nil
}

func (s *spill) put(n *node) error {
	b := s.buf[:0]
	b = appendBytes(b, n.rel)
	b = appendBytes(b, n.link)
	b = appendBytes(b, n.first)
	st := &n.st
	for _, v := range []uint64{uint64(st.Mode), uint64(st.Uid), uint64(st.Gid), uint64(st.Size),
		uint64(st.Mtim.Sec), uint64(st.Mtim.Nsec), uint64(st.Ctim.Sec), uint64(st.Ctim.Nsec),
		st.Ino, st.Dev, uint64(st.Nlink)} {
		b = binary.AppendUvarint(b, v)
	}
	flags := byte(0)
	if n.excluded {
		flags |= 1
	}
	if n.cached {
		flags |= 2
	}
	b = append(b, flags)
	if n.cached {
		b = append(b, n.sum[:]...)
	}
	s.buf = b
	_, err := s.bw.Write(b)
	return err
}

// rewind ends writing and starts reading from the first record.
func (s *spill) rewind() error {
	if err := s.bw.Flush(); err != nil {
		return err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	s.br = bufio.NewReaderSize(s.f, 256<<10)
	return nil
}

// get reads the next record into n (whose abs it sets below root), or
// returns io.EOF.
func (s *spill) get(root string, n *node) error {
	var err error
	if n.rel, err = readBytes(s.br); err != nil {
		return err // io.EOF at the end
	}
	if n.link, err = readBytes(s.br); err != nil {
		return noEOF(err)
	}
	if n.first, err = readBytes(s.br); err != nil {
		return noEOF(err)
	}
	var v [11]uint64
	for i := range v {
		if v[i], err = binary.ReadUvarint(s.br); err != nil {
			return noEOF(err)
		}
	}
	n.st = unix.Stat_t{Mode: uint32(v[0]), Uid: uint32(v[1]), Gid: uint32(v[2]), Size: int64(v[3]),
		Mtim: unix.Timespec{Sec: int64(v[4]), Nsec: int64(v[5])}, Ctim: unix.Timespec{Sec: int64(v[6]), Nsec: int64(v[7])},
		Ino: v[8], Dev: v[9], Nlink: v[10]}
	flags, err := s.br.ReadByte()
	if err != nil {
		return noEOF(err)
	}
	n.excluded = flags&1 != 0
	n.cached = flags&2 != 0
	if n.cached {
		if _, err := io.ReadFull(s.br, n.sum[:]); err != nil {
			return noEOF(err)
		}
	}
	n.abs = root
	if n.rel != "." {
		n.abs = root + "/" + n.rel
	}
	return nil
}

func (s *spill) close() {
	s.f.Close()
	os.Remove(s.f.Name())
}

func appendBytes(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func readBytes(r *bufio.Reader) (string, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return "", err
	}
	if n > 1<<20 {
		return "", errors.New("spill record too long")
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", noEOF(err)
	}
	return string(b), nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
