package archive

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// stream reads a snapshot's archive and pairs each tar header with its
// entry from the entry list (checked as it is read, see validator),
// refusing any disagreement.
type stream struct {
	m   *Manifest
	f   *os.File      // nil for a stream not read from a file (Import)
	zr  io.ReadCloser // nil likewise
	rd  io.Reader     // what the tar reader reads: the decoded archive (or a tee of it)
	tr  *tar.Reader
	src entrySource
}

// newStream pairs the tar stream rd with the entries of src.
func newStream(m *Manifest, rd io.Reader, src entrySource) *stream {
	return &stream{m: m, rd: rd, tr: tar.NewReader(rd), src: src}
}

// tee makes everything read from the decoded archive, to its very end,
// also go to w (ExportTar): the stream as stored, checked as it goes.
func (s *stream) tee(w io.Writer) {
	s.rd = io.TeeReader(s.rd, w)
	s.tr = tar.NewReader(s.rd)
}

// openStream opens the archive and the entry list of a manifest. An archive
// shorter than the manifest records is incomplete (truncated); a longer one
// is corrupt.
func openStream(dir string, m *Manifest) (*stream, error) {
	if m.Archive != archiveName(m.Compression) {
		return nil, &CorruptError{ID: m.ID, Field: "archive name", Expected: archiveName(m.Compression), Got: quote(m.Archive)}
	}
	p := filepath.Join(dir, m.Archive)
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, &IncompleteError{ID: m.ID, Reason: "the archive " + m.Archive + " is missing"}
	}
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	switch {
	case st.Size() < m.ArchiveSize:
		f.Close()
		return nil, &IncompleteError{ID: m.ID, Reason: fmt.Sprintf("the archive is truncated: %d of %d bytes", st.Size(), m.ArchiveSize)}
	case st.Size() > m.ArchiveSize:
		f.Close()
		return nil, &CorruptError{ID: m.ID, Field: "archive size", Expected: strconv.FormatInt(m.ArchiveSize, 10), Got: strconv.FormatInt(st.Size(), 10)}
	}
	src, err := openEntries(dir, m)
	if err != nil {
		f.Close()
		return nil, err
	}
	zr, err := decompressor(m.Compression, bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		src.Close()
		f.Close()
		return nil, &CorruptError{ID: m.ID, Field: "stream", Err: err}
	}
	sm := newStream(m, zr, src)
	sm.f, sm.zr = f, zr
	return sm, nil
}

func (s *stream) Close() error {
	s.src.Close()
	if s.zr != nil {
		s.zr.Close()
	}
	if s.f != nil {
		return s.f.Close()
	}
	return nil
}

// next returns the next header and its entry, or io.EOF after the last
// entry once the whole compressed stream (and its checksum) and the whole
// entry list were read.
func (s *stream) next() (*tar.Header, *Entry, error) {
	hdr, err := s.tr.Next()
	if err == io.EOF {
		e, err := s.src.next()
		if err == nil {
			return nil, nil, &CorruptError{ID: s.m.ID, Path: e.Path, Field: "entry", Expected: "in the archive", Got: "the archive ended before it"}
		}
		if err != io.EOF {
			return nil, nil, err
		}
		// Reading to the end checks the compressed stream's own checksum.
		// (pgzip's WriteTo panics at the end of a stream: plain reads only.)
		if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{s.rd}, make([]byte, 32<<10)); err != nil {
			return nil, nil, s.streamErr(err)
		}
		return nil, nil, io.EOF
	}
	if err != nil {
		return nil, nil, s.streamErr(err)
	}
	name := hdr.Name
	if name == "./" {
		name = "."
	} else if hdr.Typeflag == tar.TypeDir {
		name = strings.TrimSuffix(name, "/")
	}
	if u := checkRel(name); u != nil {
		return nil, nil, &CorruptError{ID: s.m.ID, Path: name, Field: "unsafe", Err: u}
	}
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink:
	default:
		return nil, nil, &CorruptError{ID: s.m.ID, Path: name, Field: "unsafe", Err: &UnsafeEntryError{Path: name, Reason: fmt.Sprintf("tar type %q (devices, FIFOs and other special entries are refused)", hdr.Typeflag)}}
	}
	e, err := s.src.next()
	if err == io.EOF {
		return nil, nil, &CorruptError{ID: s.m.ID, Path: name, Field: "entry", Expected: "end of archive", Got: "an extra entry"}
	}
	if err != nil {
		return nil, nil, err
	}
	if err := s.compare(hdr, name, e); err != nil {
		return nil, nil, err
	}
	return hdr, e, nil
}

func (s *stream) compare(hdr *tar.Header, name string, e *Entry) error {
	bad := func(field, want, got string) error {
		return &CorruptError{ID: s.m.ID, Path: e.Path, Field: field, Expected: want, Got: got}
	}
	if name != e.Path {
		return bad("path", quote(e.Path), quote(name))
	}
	wantType := map[string]byte{TypeDir: tar.TypeDir, TypeFile: tar.TypeReg, TypeSymlink: tar.TypeSymlink, TypeHardlink: tar.TypeLink}[e.Type]
	if hdr.Typeflag != wantType {
		return bad("type", e.Type, fmt.Sprintf("tar type %q", hdr.Typeflag))
	}
	if Mode(hdr.Mode&0o7777) != e.Mode || hdr.Mode&^0o7777 != 0 {
		return bad("mode", e.Mode.String(), fmt.Sprintf("%04o", hdr.Mode))
	}
	if hdr.Uid != e.UID || hdr.Gid != e.GID {
		return bad("owner", fmt.Sprintf("%d:%d", e.UID, e.GID), fmt.Sprintf("%d:%d", hdr.Uid, hdr.Gid))
	}
	if hdr.ModTime.Unix() != e.MTime.Unix() {
		return bad("mtime", e.MTime.Format("2006-01-02T15:04:05Z"), hdr.ModTime.UTC().Format("2006-01-02T15:04:05Z"))
	}
	switch e.Type {
	case TypeFile:
		if hdr.Size != e.Size {
			return bad("size", strconv.FormatInt(e.Size, 10), strconv.FormatInt(hdr.Size, 10))
		}
	case TypeSymlink, TypeHardlink:
		if hdr.Linkname != e.Link {
			return bad("link", quote(e.Link), quote(hdr.Linkname))
		}
		if hdr.Size != 0 {
			return bad("size", "0", strconv.FormatInt(hdr.Size, 10))
		}
	}
	return nil
}

// streamErr classifies a read error: the file's size was checked first, so
// a stream that ends early or fails to decode is corrupt.
func (s *stream) streamErr(err error) error {
	return &CorruptError{ID: s.m.ID, Field: "stream", Err: err}
}
