package archive

import (
	"io"
	"path/filepath"
)

// contentStream yields a snapshot's entries in order with each file's
// content, whatever the format: a tar stream (formats 1 and 2) or the
// store's packs (format 3). A file's content must be read (or abandoned)
// before the next entry.
type contentStream interface {
	next() (*Entry, error) // io.EOF after the last, once everything was checked
	// content is a file's content; its errors go through errf.
	content(e *Entry) (io.Reader, error)
	errf(err error) error
	Close() error
}

// openContent opens a complete snapshot's entries and contents. For format
// 3 the caller holds the content lock (shared).
func (s *Store) openContent(m *Manifest) (contentStream, error) {
	dir := filepath.Join(s.dir, m.ID)
	if m.Storage != storagePacks {
		st, err := openStream(dir, m)
		if err != nil {
			return nil, err
		}
		return &tarContent{st}, nil
	}
	idx, err := s.contentIndex()
	if err != nil {
		return nil, err
	}
	src, err := openEntries(dir, m)
	if err != nil {
		return nil, err
	}
	packs := newPackFiles(filepath.Join(s.dir, packsDir), idx)
	br, err := newBlobReader(packs, m.ID)
	if err != nil {
		src.Close()
		packs.Close()
		return nil, err
	}
	return &packContent{src: src, packs: packs, br: br}, nil
}

// tarContent reads a tar stream (formats 1 and 2).
type tarContent struct{ st *stream }

func (t *tarContent) next() (*Entry, error) {
	_, e, err := t.st.next()
	return e, err
}

func (t *tarContent) content(*Entry) (io.Reader, error) { return t.st.tr, nil }
func (t *tarContent) errf(err error) error              { return t.st.streamErr(err) }
func (t *tarContent) Close() error                      { return t.st.Close() }

// packContent reads entries from the list and contents from the packs
// (format 3).
type packContent struct {
	src   entrySource
	packs *packFiles
	br    *blobReader
}

func (p *packContent) next() (*Entry, error)               { return p.src.next() }
func (p *packContent) content(e *Entry) (io.Reader, error) { return p.br.open(e) }
func (p *packContent) errf(err error) error                { return err }

func (p *packContent) Close() error {
	p.br.close()
	p.packs.Close()
	return p.src.Close()
}
