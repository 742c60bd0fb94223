package archive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/carbonguard/carbonguard/internal/durable"
)

// Export and import move a snapshot to other storage and back (a restic
// repository, say) as three things: its uncompressed tar stream exactly as
// stored (ExportTar), its manifest in portable form (ExportManifest), and
// its attachments (OpenAttachment). Import rebuilds a local snapshot from
// them, checking every entry and every byte before the snapshot is listed.
//
// The portable manifest is JSON lines: first manifest.json's content (format
// 2, on one line, its "entries" giving count, size and SHA-256 of the
// lines that follow; the local facts of the exporting store left out), then
// one line per entry, as in entries.jsonl. Snapshots of formats 1 and 3 are
// exported in that form too.

// ExportTar writes snapshot id's uncompressed tar stream to w, byte for
// byte as stored, checking every entry against the manifest and every
// file's content against its hash as it goes (as Verify does, without
// recording the outcome). A format-3 snapshot has no tar of its own: its
// stream is made from the entry list and the packs, and is the same, byte
// for byte, as the tar a format-2 snapshot of the same tree holds. On an error, what w received must be discarded:
// a *CorruptError or *IncompleteError means the snapshot is bad, any other
// error (w's own, say) says nothing about it.
func (s *Store) ExportTar(ctx context.Context, id string, w io.Writer) (*VerifyReport, error) {
	start := time.Now()
	lease, err := s.leaseFor(id, "export")
	if err != nil {
		return nil, err
	}
	defer lease.Release()
	m, err := s.Show(id)
	if err != nil {
		return nil, err
	}
	ew := &errWriter{w: w}
	var rep *VerifyReport
	if m.Storage == storagePacks {
		rep, err = s.exportPacks(ctx, m, ew)
	} else {
		var st *stream
		st, err = openStream(filepath.Join(s.dir, id), m)
		if err != nil {
			return nil, err
		}
		defer st.Close()
		st.tee(ew)
		rep, err = checkStream(ctx, st, newProgress("export", nil, m.Bytes, m.Files), nil)
	}
	if ew.err != nil {
		// The stream broke on w's side: nothing to say about the snapshot.
		return nil, fmt.Errorf("exporting snapshot %s: %w", id, ew.err)
	}
	if err != nil {
		return nil, err
	}
	rep.Took = time.Since(start)
	return rep, nil
}

// srcErrReader remembers an error of r other than io.EOF: a source that
// fails says nothing about the snapshot.
type srcErrReader struct {
	r   io.Reader
	err error
}

func (s *srcErrReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// errWriter remembers the first error of w, so that a failed write is not
// mistaken for a corrupt archive.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}

// ExportManifest writes snapshot id's manifest in portable form (see
// above). The entry list is checked as it is read.
func (s *Store) ExportManifest(id string, w io.Writer) error {
	m, err := s.Show(id)
	if err != nil {
		return err
	}
	// First pass: the lines' count, size and hash, for the header.
	list := &entryList{}
	h := sha256.New()
	var line []byte
	err = s.Entries(id, func(e *Entry) error {
		line = append(appendEntry(line[:0], e), '\n')
		h.Write(line)
		list.Count++
		list.Size += int64(len(line))
		return nil
	})
	if err != nil {
		return err
	}
	list.SHA256 = hex.EncodeToString(h.Sum(nil))
	// The portable form is format 2's manifest (entries beside a tar),
	// whatever the local storage: the local facts are left out.
	doc := docOf(m)
	doc.SchemaVersion, doc.Entries = schemaV2, list
	doc.Storage, doc.NewBytes, doc.NewPacks, doc.Parent, doc.Reused, doc.WalkStarted = "", 0, nil, "", 0, time.Time{}
	doc.Compression, doc.Archive, doc.ArchiveSize = "", "", 0
	head, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(head)
	bw.WriteByte('\n')
	err = s.Entries(id, func(e *Entry) error {
		line = append(appendEntry(line[:0], e), '\n')
		_, err := bw.Write(line)
		return err
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// ImportOptions tune Import.
type ImportOptions struct {
	// Attachment opens the named attachment's content, as OpenAttachment
	// gave it on export. Required when the manifest lists attachments.
	Attachment func(name string) (io.ReadCloser, error)
	// Compression of the local archive: "zstd" (default) or "gzip".
	Compression string
	// Progress as for Create (bytes of file content imported).
	Progress func(Progress)
	// NoSync skips the fsyncs (benchmarks and tests only).
	NoSync bool
}

// ExistsError means a snapshot with the id is already in the store.
type ExistsError struct{ ID string }

func (e *ExistsError) Error() string { return fmt.Sprintf("snapshot %s is already in the store", e.ID) }

// Hint suggests what to do.
func (e *ExistsError) Hint() string {
	return "nothing to import; delete the local one first to import it again"
}

// Import rebuilds a snapshot from a portable manifest and the tar stream
// ExportTar wrote (plus its attachments), under the same id. Every entry
// and every byte is checked against the manifest while the local archive
// is written; the manifest is written last, with the verification
// recorded, so a snapshot is listed only once it verified. An interrupted
// import leaves a partial directory that OpenStore removes. A manifest or
// stream that does not match gives a *CorruptError (or *IncompleteError
// when a stream ends early) and nothing in the store.
func (s *Store) Import(ctx context.Context, manifest, tarStream io.Reader, o ImportOptions) (*Manifest, error) {
	start := time.Now()
	comp := o.Compression
	if comp == "" {
		comp = CompressionZstd
	}
	if comp != CompressionZstd && comp != CompressionGzip {
		return nil, &UsageError{What: "compression", Value: comp, Why: "use zstd or gzip"}
	}
	mr := bufio.NewReaderSize(manifest, 64<<10)
	head, err := readLine(mr)
	if err != nil {
		return nil, &CorruptError{ID: "(import)", Field: "manifest", Err: fmt.Errorf("reading its first line: %w", err)}
	}
	var doc manifestDoc
	if err := json.Unmarshal(head, &doc); err != nil {
		return nil, &CorruptError{ID: "(import)", Field: "manifest", Err: err}
	}
	id := doc.ID
	if err := checkID(id); err != nil {
		return nil, &CorruptError{ID: "(import)", Field: "manifest id", Got: quote(id), Expected: "a snapshot id"}
	}
	switch {
	case doc.SchemaVersion > schemaV2:
		return nil, fmt.Errorf("snapshot %s: portable manifest schema %d is newer than this carbonguard knows (%d); use a newer carbonguard", id, doc.SchemaVersion, schemaV2)
	case doc.SchemaVersion != schemaV2 || doc.Entries == nil:
		return nil, &CorruptError{ID: id, Field: "manifest", Err: errors.New("not a portable manifest (format 2 with an entry count, size and SHA-256)")}
	}
	for _, a := range doc.Attachments {
		if checkAttachmentName(a.Name) != nil || !isHexHash(a.SHA256) || a.Size < 0 {
			return nil, &CorruptError{ID: id, Field: "attachment", Got: quote(a.Name), Expected: "a plain file name with a size and a SHA-256"}
		}
		if o.Attachment == nil {
			return nil, &UsageError{What: "import", Value: id, Why: "the snapshot has attachments: ImportOptions.Attachment must open them"}
		}
	}
	if _, err := os.Lstat(filepath.Join(s.dir, id)); err == nil {
		return nil, &ExistsError{ID: id}
	}
	tmp, unlock, err := s.reserveID(id)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			if err := os.RemoveAll(tmp); err != nil {
				s.log.Warn().Err(err).Str("path", tmp).Msg("removing the partial import")
			}
			_ = durable.SyncDir(s.dir)
		}
		unlock()
	}()

	// What the stream is checked against: the exported header's claims.
	want := doc.manifest()
	want.list = &entryList{Count: doc.Entries.Count, Size: doc.Entries.Size, SHA256: doc.Entries.SHA256}
	lines := &lineEntries{m: want, r: mr, h: sha256.New()}
	src := &validator{src: lines, id: id, files: map[string]bool{}}

	// The local snapshot: the same entries; the content in the store's
	// packs (format 3) or in a tar compressed here (gzip: format 2).
	m := doc.manifest()
	m.Compression, m.Attachments = comp, nil
	m.Storage, m.NewBytes, m.NewPacks, m.Parent, m.Reused = "", 0, nil, "", 0
	ew, err := newEntriesWriter(filepath.Join(tmp, entriesName))
	if err != nil {
		return nil, err
	}
	in := &srcErrReader{r: tarStream}
	var werr error
	if comp == CompressionZstd {
		m.SchemaVersion, m.Storage, m.Archive = ManifestSchema, storagePacks, ""
		werr = s.importPacks(ctx, tmp, newStream(want, in, src), ew, m, o)
	} else {
		m.SchemaVersion, m.Archive = schemaV2, archiveName(comp)
		werr = s.importTar(ctx, tmp, want, in, src, ew, m, o)
	}
	var ie *IncompleteError
	switch {
	case werr == nil:
	case in.err != nil: // the source, not the snapshot
		werr = fmt.Errorf("importing snapshot %s: reading the tar stream: %w", id, in.err)
	case errors.Is(werr, io.ErrUnexpectedEOF) && !errors.As(werr, &ie):
		werr = &IncompleteError{ID: id, Reason: "the tar stream ended early", Err: werr}
	}
	if werr != nil {
		ew.abort()
		return nil, werr
	}
	if m.list, err = ew.finish(o.NoSync); err != nil {
		return nil, err
	}
	m.Entries = m.list.Count
	if len(doc.Attachments) > 0 {
		if err := os.Mkdir(filepath.Join(tmp, attachmentsDir), 0o700); err != nil {
			return nil, err
		}
	}
	for _, want := range doc.Attachments {
		a, err := importAttachment(tmp, id, want, o)
		if err != nil {
			return nil, err
		}
		m.Attachments = append(m.Attachments, *a)
		m.NewBytes += a.Size
	}
	if len(doc.Attachments) > 0 && !o.NoSync {
		if err := durable.SyncDir(filepath.Join(tmp, attachmentsDir)); err != nil {
			return nil, err
		}
	}
	if m.Storage == storagePacks {
		// The packs join the store's last, once everything checked.
		m.NewBytes += m.list.FileSize
		if err := s.adoptPacks(filepath.Join(tmp, packsDir), m.NewPacks, o.NoSync); err != nil {
			return nil, err
		}
	}
	testHook("import:checked", "")
	vr := VerifyRecord{At: time.Now().UTC(), OK: true, Bytes: m.Bytes, Took: Duration(time.Since(start)), Tool: "import"}
	if err := durable.WriteJSON(filepath.Join(tmp, verifiedName), vr, 0o600); err != nil {
		return nil, err
	}
	if err := writeManifestFile(filepath.Join(tmp, manifestName), m); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, id)); err != nil {
		return nil, fmt.Errorf("completing the import of snapshot %s: %w", id, err)
	}
	ok = true
	if err := durable.SyncDir(s.dir); err != nil {
		return nil, err
	}
	s.log.Info().Str("id", id).Int("entries", m.Entries).Int64("bytes", m.Bytes).Dur("took", time.Since(start)).Msg("snapshot imported")
	return m, nil
}

func importAttachment(tmp, id string, want Attachment, o ImportOptions) (*Attachment, error) {
	r, err := o.Attachment(want.Name)
	if err != nil {
		return nil, fmt.Errorf("opening attachment %s: %w", want.Name, err)
	}
	defer r.Close()
	a, err := writeAttachment(tmp, want.Name, o.NoSync, func(w io.Writer) error {
		_, err := io.Copy(w, r)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("attachment %s: %w", want.Name, err)
	}
	switch {
	case a.Size < want.Size:
		return nil, &IncompleteError{ID: id, Reason: fmt.Sprintf("the attachment %s is truncated: %d of %d bytes", want.Name, a.Size, want.Size)}
	case a.Size != want.Size || a.SHA256 != want.SHA256:
		return nil, &CorruptError{ID: id, Field: "attachment " + want.Name + " sha256", Expected: want.SHA256, Got: a.SHA256}
	}
	return a, nil
}

// reserveID creates the in-progress directory for a known id.
func (s *Store) reserveID(id string) (string, func(), error) {
	tmp := filepath.Join(s.dir, tmpPrefix+id)
	if err := os.Mkdir(tmp, 0o700); err != nil {
		if os.IsExist(err) {
			return "", nil, fmt.Errorf("snapshot %s is being imported or created by another process (%s exists)", id, tmp)
		}
		return "", nil, err
	}
	unlock, ok := tryLockDir(tmp)
	if !ok {
		return "", nil, fmt.Errorf("snapshot %s is being imported by another process", id)
	}
	return tmp, unlock, nil
}

// readLine reads one line (without its newline) of at most maxEntryLine.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxEntryLine {
			return nil, errors.New("line too long")
		}
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(line) > 0:
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
}

// lineEntries reads entry lines from a portable manifest, checking their
// count, size and hash against its header at the end.
type lineEntries struct {
	m    *Manifest
	r    *bufio.Reader
	h    hash.Hash
	size int64
	n    int
	done bool
}

func (l *lineEntries) next() (*Entry, error) {
	if l.done {
		return nil, io.EOF
	}
	line, err := readLine(l.r)
	if err == io.EOF {
		l.done = true
		want := l.m.list
		if got := hex.EncodeToString(l.h.Sum(nil)); l.size != want.Size || got != want.SHA256 {
			return nil, &CorruptError{ID: l.m.ID, Field: "entry list sha256", Expected: want.SHA256, Got: got}
		}
		if l.n != want.Count {
			return nil, &CorruptError{ID: l.m.ID, Field: "entry count", Expected: strconv.Itoa(want.Count), Got: strconv.Itoa(l.n)}
		}
		return nil, io.EOF
	}
	if err != nil {
		return nil, &CorruptError{ID: l.m.ID, Field: "entry list", Err: fmt.Errorf("line %d: %w", l.n+2, err)}
	}
	l.h.Write(line)
	l.h.Write([]byte{'\n'})
	l.size += int64(len(line)) + 1
	l.n++
	e := new(Entry)
	if err := json.Unmarshal(line, e); err != nil {
		return nil, &CorruptError{ID: l.m.ID, Field: "entry list", Err: fmt.Errorf("line %d: %w", l.n+1, err)}
	}
	return e, nil
}

func (l *lineEntries) Close() error { return nil }

// exportPacks writes a format-3 snapshot as the tar stream format 2 would
// have stored: the same headers (tarHeader), contents, padding and end.
func (s *Store) exportPacks(ctx context.Context, m *Manifest, w *errWriter) (*VerifyReport, error) {
	unlock, err := s.lockContent(false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	cs, err := s.openContent(m)
	if err != nil {
		return nil, err
	}
	defer cs.Close()
	bw := bufio.NewWriterSize(w, 1<<20)
	h := sha256.New()
	buf := make([]byte, 256<<10)
	var hdr bytes.Buffer
	rep := &VerifyReport{ID: m.ID}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e, err := cs.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		rep.Entries++
		hdr.Reset()
		if err := tar.NewWriter(&hdr).WriteHeader(tarHeader(e)); err != nil {
			return nil, &CorruptError{ID: m.ID, Path: e.Path, Field: "entry", Err: err}
		}
		bw.Write(hdr.Bytes())
		switch e.Type {
		case TypeHardlink:
			rep.Files++
		case TypeFile:
			rep.Files++
			r, err := cs.content(e)
			if err != nil {
				return nil, err
			}
			h.Reset()
			n, err := io.CopyBuffer(io.MultiWriter(bw, h), r, buf)
			if err != nil {
				if w.err != nil {
					return nil, w.err
				}
				return nil, cs.errf(err)
			}
			if got := hex.EncodeToString(h.Sum(nil)); got != e.Hash {
				return nil, &CorruptError{ID: m.ID, Path: e.Path, Field: "sha256", Expected: e.Hash, Got: got}
			}
			rep.Bytes += n
			if pad := -n & (tarBlock - 1); pad > 0 {
				bw.Write(zeroBlock[:pad])
			}
		}
		if w.err != nil {
			return nil, w.err
		}
	}
	bw.Write(zeroBlock[:])
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	if err := checkTotals(m, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

// importTar writes the tar stream as it comes into a compressed archive
// (format 2), checking it entry by entry.
func (s *Store) importTar(ctx context.Context, tmp string, want *Manifest, in io.Reader, src entrySource, ew *entriesWriter, m *Manifest, o ImportOptions) error {
	f, err := os.OpenFile(filepath.Join(tmp, m.Archive), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	cw := &writeBehindFile{fd: int(f.Fd()), w: bw, durable: !o.NoSync}
	zw, err := compressor(m.Compression, cw)
	if err != nil {
		return err
	}
	out := &errWriter{w: zw}
	st := newStream(want, io.TeeReader(in, out), src)
	_, werr := checkStream(ctx, st, newProgress("import", o.Progress, want.Bytes, want.Files), ew.add)
	if out.err != nil { // the local disk, not the snapshot
		werr = fmt.Errorf("importing snapshot %s: %w", m.ID, out.err)
	}
	if cerr := zw.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = bw.Flush()
	}
	if werr == nil && !o.NoSync {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	m.ArchiveSize = cw.n
	return werr
}

// importPacks stores the tar stream's contents in packs (format 3),
// deduplicated against the store, checking each entry and each file's
// hash as it goes.
func (s *Store) importPacks(ctx context.Context, tmp string, st *stream, ew *entriesWriter, m *Manifest, o ImportOptions) error {
	unlock, err := s.lockContent(false)
	if err != nil {
		return err
	}
	defer unlock()
	idx, err := s.contentIndex()
	if err != nil {
		return err
	}
	dir := filepath.Join(tmp, packsDir)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	sink, err := newBlobSink(idx, newPackWriter(dir, o.NoSync), codecWorkers())
	if err != nil {
		return err
	}
	a := &packArchiver{sink: sink, idx: idx, list: ew, prog: newProgress("import", o.Progress, st.m.Bytes, st.m.Files)}
	werr := a.importEntries(ctx, st)
	packs, ferr := a.finish()
	if werr == nil {
		werr = ferr
	}
	if werr != nil {
		return werr
	}
	rep := &VerifyReport{Files: a.files, Bytes: a.bytes}
	if err := checkTotals(st.m, rep); err != nil {
		return err
	}
	m.ArchiveSize, m.NewPacks = a.stored, packs
	for _, p := range packs {
		m.NewBytes += p.Size
	}
	return nil
}
