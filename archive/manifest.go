package archive

import (
	"bufio"
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
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/carbonguard/carbonguard/internal/durable"
)

// The manifest, format 2. manifest.json is small and written last (its
// presence marks the snapshot complete); the entries live beside it in
// entries.jsonl.zst, one JSON object per line in archive order, written as
// the archive is, so that memory does not grow with the number of entries.
// manifest.json records the entry list's count, size and SHA-256, so the
// list is as trustworthy as the manifest itself.
//
//	{"schema_version":2, "id":..., ...,
//	 "entries":{"count":7012,"file":"entries.jsonl.zst","file_size":81234,"size":1234567,"sha256":"..."},
//	 "attachments":[{"name":"apim_db.sql.gz","size":1234,"sha256":"..."}]}
//
// Format 1 (carbonguard before December 2026) held every entry inline in
// manifest.json ("entries":[...]); it is still read, as a stream.
//
// An entry line is the Entry's JSON (see Entry.MarshalJSON): names that are
// not UTF-8 are written as {"base64":...} objects (see names.go). Format 2
// adds ctime, ino and dev (a later snapshot may take a file's hash from
// the newest one without reading the file when all of them match) and nlink
// on a multiply-linked file's first name (hard links may name only such
// entries). A later format may add a content reference to an entry (content
// stored in another snapshot); readers refuse a newer major format.

const (
	schemaV1       = 1 // entries inline in manifest.json
	schemaV2       = 2 // streamed entry list, one compressed tar per snapshot (still written for gzip)
	ManifestSchema = 3 // streamed entry list, content in the store's packs (see packs.go)
	storagePacks   = "packs"
	entriesName    = "entries.jsonl.zst"
	maxEntryLine   = 1 << 20 // a longer line is corrupt (PATH_MAX is 4096)
)

// manifestDoc is manifest.json as stored. Names that may not be UTF-8 (the
// root, the excludes) are stored as manifest names.
type manifestDoc struct {
	SchemaVersion int               `json:"schema_version"`
	ID            string            `json:"id"`
	Created       time.Time         `json:"created"`
	Reason        string            `json:"reason"`
	ToolVersion   string            `json:"tool_version,omitempty"`
	Root          name              `json:"root"`
	Meta          map[string]string `json:"meta,omitempty"`
	Exclude       []name            `json:"exclude,omitempty"`
	Compression   string            `json:"compression"`
	Archive       string            `json:"archive"`
	ArchiveSize   int64             `json:"archive_size"`
	Files         int               `json:"files"`
	Bytes         int64             `json:"bytes"`
	Entries       *entryList        `json:"entries,omitempty"`
	Attachments   []Attachment      `json:"attachments,omitempty"`
	Storage       string            `json:"storage,omitempty"`
	NewBytes      int64             `json:"new_bytes,omitempty"`
	NewPacks      []packInfo        `json:"new_packs,omitempty"`
	Parent        string            `json:"parent,omitempty"`
	Reused        int               `json:"reused,omitempty"`
	WalkStarted   time.Time         `json:"walk_started,omitzero"`
}

// entryList describes the entry list file of a format-2 snapshot.
type entryList struct {
	Count    int    `json:"count"`
	File     string `json:"file,omitempty"`
	FileSize int64  `json:"file_size,omitempty"` // compressed
	Size     int64  `json:"size"`                // the JSON lines' bytes
	SHA256   string `json:"sha256"`              // of the JSON lines
}

func (d *manifestDoc) manifest() *Manifest {
	m := &Manifest{
		SchemaVersion: d.SchemaVersion, ID: d.ID, Created: d.Created, Reason: d.Reason, ToolVersion: d.ToolVersion,
		Root: string(d.Root), Meta: d.Meta, Compression: d.Compression, Archive: d.Archive, ArchiveSize: d.ArchiveSize,
		Files: d.Files, Bytes: d.Bytes, Attachments: d.Attachments, list: d.Entries,
		Storage: d.Storage, NewBytes: d.NewBytes, NewPacks: d.NewPacks, Parent: d.Parent, Reused: d.Reused, walkStarted: d.WalkStarted,
	}
	for _, x := range d.Exclude {
		m.Exclude = append(m.Exclude, string(x))
	}
	if d.Entries != nil {
		m.Entries = d.Entries.Count
	}
	return m
}

func docOf(m *Manifest) *manifestDoc {
	d := &manifestDoc{
		SchemaVersion: m.SchemaVersion, ID: m.ID, Created: m.Created, Reason: m.Reason, ToolVersion: m.ToolVersion,
		Root: name(m.Root), Meta: m.Meta, Compression: m.Compression, Archive: m.Archive, ArchiveSize: m.ArchiveSize,
		Files: m.Files, Bytes: m.Bytes, Attachments: m.Attachments, Entries: m.list,
		Storage: m.Storage, NewBytes: m.NewBytes, NewPacks: m.NewPacks, Parent: m.Parent, Reused: m.Reused, WalkStarted: m.walkStarted,
	}
	for _, x := range m.Exclude {
		d.Exclude = append(d.Exclude, name(x))
	}
	return d
}

// readManifestFile reads manifest.json of either format without holding a
// format-1 entry list in memory: the inline entries are counted, not kept.
func readManifestFile(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(f, 64<<10))
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	fields := map[string]json.RawMessage{}
	inline := -1
	for dec.More() {
		key, err := stringToken(dec)
		if err != nil {
			return nil, err
		}
		if key != "entries" {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, err
			}
			fields[key] = raw
			continue
		}
		// Format 1's array is counted; format 2's object is small.
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch tok {
		case json.Delim('['):
			inline = 0
			for dec.More() {
				if err := skipValue(dec); err != nil {
					return nil, err
				}
				inline++
			}
			if err := expectDelim(dec, ']'); err != nil {
				return nil, err
			}
		case json.Delim('{'):
			obj := map[string]json.RawMessage{}
			for dec.More() {
				k, err := stringToken(dec)
				if err != nil {
					return nil, err
				}
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return nil, err
				}
				obj[k] = raw
			}
			if err := expectDelim(dec, '}'); err != nil {
				return nil, err
			}
			raw, _ := json.Marshal(obj)
			fields["entries"] = raw
		default:
			return nil, fmt.Errorf(`"entries" is neither a list nor an object`)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	raw, _ := json.Marshal(fields)
	var d manifestDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	m := d.manifest()
	if inline >= 0 {
		if d.SchemaVersion != schemaV1 {
			return nil, fmt.Errorf("schema %d with an inline entry list (only format 1 has one)", d.SchemaVersion)
		}
		m.Entries = inline
		m.list = nil
	} else if d.SchemaVersion >= 2 && d.Entries == nil {
		return nil, errors.New(`no "entries"`)
	}
	return m, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("expected %q, found %v", want, tok)
	}
	return nil
}

func stringToken(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("expected a key, found %v", tok)
	}
	return s, nil
}

// skipValue consumes one JSON value without keeping it.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// writeManifestFile writes manifest.json durably: the last write of a
// snapshot.
func writeManifestFile(path string, m *Manifest) error {
	return durable.WriteJSON(path, docOf(m), 0o600)
}

// MarshalJSON writes an entry as a manifest line does (names that are not
// UTF-8 as {"base64":...}).
func (e Entry) MarshalJSON() ([]byte, error) { return appendEntry(nil, &e), nil }

// UnmarshalJSON reads an entry written by MarshalJSON (or by format 1).
func (e *Entry) UnmarshalJSON(data []byte) error {
	var j struct {
		Path  name      `json:"path"`
		Type  string    `json:"type"`
		Mode  Mode      `json:"mode"`
		Size  int64     `json:"size"`
		MTime time.Time `json:"mtime"`
		CTime time.Time `json:"ctime"`
		Link  name      `json:"link"`
		Hash  string    `json:"sha256"`
		UID   int       `json:"uid"`
		GID   int       `json:"gid"`
		Ino   uint64    `json:"ino"`
		Dev   uint64    `json:"dev"`
		NLink int       `json:"nlink"`
	}
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*e = Entry{Path: string(j.Path), Type: j.Type, Mode: j.Mode, Size: j.Size, MTime: j.MTime, CTime: j.CTime,
		Link: string(j.Link), Hash: j.Hash, UID: j.UID, GID: j.GID, Ino: j.Ino, Dev: j.Dev, NLink: j.NLink}
	return nil
}

// appendEntry appends e's JSON object (no newline).
func appendEntry(b []byte, e *Entry) []byte {
	b = append(b, `{"path":`...)
	b = appendName(b, e.Path)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, e.Type)
	b = append(b, `,"mode":"`...)
	b = append(b, e.Mode.String()...)
	b = append(b, '"')
	if e.Type == TypeFile || e.Type == TypeHardlink {
		b = append(b, `,"size":`...)
		b = strconv.AppendInt(b, e.Size, 10)
	}
	b = append(b, `,"mtime":"`...)
	b = e.MTime.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if !e.CTime.IsZero() {
		b = append(b, `,"ctime":"`...)
		b = e.CTime.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	if e.Link != "" {
		b = append(b, `,"link":`...)
		b = appendName(b, e.Link)
	}
	if e.Hash != "" {
		b = append(b, `,"sha256":`...)
		b = appendJSONString(b, e.Hash)
	}
	b = append(b, `,"uid":`...)
	b = strconv.AppendInt(b, int64(e.UID), 10)
	b = append(b, `,"gid":`...)
	b = strconv.AppendInt(b, int64(e.GID), 10)
	if e.Ino != 0 || e.Dev != 0 {
		b = append(b, `,"ino":`...)
		b = strconv.AppendUint(b, e.Ino, 10)
		b = append(b, `,"dev":`...)
		b = strconv.AppendUint(b, e.Dev, 10)
	}
	if e.NLink > 1 {
		b = append(b, `,"nlink":`...)
		b = strconv.AppendInt(b, int64(e.NLink), 10)
	}
	return append(b, '}')
}

// entriesWriter writes a format-2 entry list as the archive is written:
// JSON lines, hashed, compressed with zstd.
type entriesWriter struct {
	f     *os.File
	zw    *zstd.Encoder
	bw    *bufio.Writer
	h     hash.Hash
	line  []byte
	count int
	size  int64
}

func newEntriesWriter(path string) (*entriesWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	zw, err := zstd.NewWriter(f, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(1<<20), zstd.WithLowerEncoderMem(true))
	if err != nil {
		f.Close()
		return nil, err
	}
	w := &entriesWriter{f: f, zw: zw, h: sha256.New()}
	w.bw = bufio.NewWriterSize(io.MultiWriter(w.h, zw), 64<<10)
	return w, nil
}

func (w *entriesWriter) add(e *Entry) error {
	w.line = append(appendEntry(w.line[:0], e), '\n')
	w.count++
	w.size += int64(len(w.line))
	_, err := w.bw.Write(w.line)
	return err
}

// finish completes the list, syncs it unless noSync, and describes it.
func (w *entriesWriter) finish(noSync bool) (*entryList, error) {
	err := w.bw.Flush()
	if cerr := w.zw.Close(); err == nil {
		err = cerr
	}
	if err == nil && !noSync {
		err = w.f.Sync()
	}
	var size int64
	if err == nil {
		var st os.FileInfo
		if st, err = w.f.Stat(); err == nil {
			size = st.Size()
		}
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return &entryList{Count: w.count, File: filepath.Base(w.f.Name()), FileSize: size, Size: w.size, SHA256: hex.EncodeToString(w.h.Sum(nil))}, nil
}

// abort closes without completing (the caller removes the directory).
func (w *entriesWriter) abort() {
	w.zw.Close()
	w.f.Close()
}

// entrySource yields a snapshot's entries in archive order.
type entrySource interface {
	// next returns the next entry, or io.EOF after the last one once the
	// whole list was read and found to match the manifest.
	next() (*Entry, error)
	Close() error
}

// openEntries opens the entry list of a complete snapshot, checked as it is
// read (see validator): every consumer sees only entries that passed.
func openEntries(dir string, m *Manifest) (entrySource, error) {
	var src entrySource
	var err error
	if m.list == nil {
		// Format 1 has no marker on hard links' first names: collect the
		// names hard links point at in a first pass, and mark them.
		targets, err := v1LinkTargets(dir, m)
		if err != nil {
			return nil, err
		}
		v1, err := openV1Entries(dir, m)
		if err != nil {
			return nil, err
		}
		v1.links = targets
		src = v1
	} else {
		src, err = openV2Entries(dir, m)
		if err != nil {
			return nil, err
		}
	}
	return &validator{src: src, id: m.ID, files: map[string]bool{}}, nil
}

// v2Entries reads entries.jsonl.zst.
type v2Entries struct {
	m    *Manifest
	f    *os.File
	zr   *zstd.Decoder
	br   *bufio.Reader
	h    hash.Hash
	size int64
	n    int
	done bool
}

func openV2Entries(dir string, m *Manifest) (*v2Entries, error) {
	l := m.list
	if l.File != entriesName {
		return nil, &CorruptError{ID: m.ID, Field: "entry list name", Expected: entriesName, Got: quote(l.File)}
	}
	p := filepath.Join(dir, l.File)
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, &IncompleteError{ID: m.ID, Reason: "the entry list " + l.File + " is missing"}
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
	case st.Size() < l.FileSize:
		f.Close()
		return nil, &IncompleteError{ID: m.ID, Reason: fmt.Sprintf("the entry list is truncated: %d of %d bytes", st.Size(), l.FileSize)}
	case st.Size() > l.FileSize:
		f.Close()
		return nil, &CorruptError{ID: m.ID, Field: "entry list size", Expected: strconv.FormatInt(l.FileSize, 10), Got: strconv.FormatInt(st.Size(), 10)}
	}
	zr, err := zstd.NewReader(bufio.NewReaderSize(f, 64<<10), zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(8<<20))
	if err != nil {
		f.Close()
		return nil, err
	}
	return &v2Entries{m: m, f: f, zr: zr, br: bufio.NewReaderSize(zr, 64<<10), h: sha256.New()}, nil
}

func (r *v2Entries) corrupt(why string, err error) error {
	return &CorruptError{ID: r.m.ID, Field: "entry list", Err: fmt.Errorf("line %d: %s: %w", r.n+1, why, err)}
}

func (r *v2Entries) next() (*Entry, error) {
	if r.done {
		return nil, io.EOF
	}
	line, err := r.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		long := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) && len(long) < maxEntryLine {
			line, err = r.br.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	if err == io.EOF && len(line) == 0 {
		return nil, r.end()
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, r.corrupt("reading", err)
	}
	r.h.Write(line)
	r.size += int64(len(line))
	r.n++
	e := new(Entry)
	if err := json.Unmarshal(line, e); err != nil {
		return nil, r.corrupt("decoding", err)
	}
	return e, nil
}

// end checks what the manifest records of the list once it is all read.
func (r *v2Entries) end() error {
	r.done = true
	l := r.m.list
	if got := hex.EncodeToString(r.h.Sum(nil)); r.size != l.Size || got != l.SHA256 {
		return &CorruptError{ID: r.m.ID, Field: "entry list sha256", Expected: l.SHA256, Got: got}
	}
	if r.n != l.Count {
		return &CorruptError{ID: r.m.ID, Field: "entry count", Expected: strconv.Itoa(l.Count), Got: strconv.Itoa(r.n)}
	}
	return io.EOF
}

func (r *v2Entries) Close() error {
	r.zr.Close()
	return r.f.Close()
}

// v1Entries streams the inline entry list of a format-1 manifest.json.
type v1Entries struct {
	m     *Manifest
	f     *os.File
	dec   *json.Decoder
	n     int
	done  bool
	links map[string]int // first names of hard links: how many link to each
}

func openV1Entries(dir string, m *Manifest) (*v1Entries, error) {
	f, err := os.Open(filepath.Join(dir, manifestName))
	if err != nil {
		return nil, err
	}
	r := &v1Entries{m: m, f: f, dec: json.NewDecoder(bufio.NewReaderSize(f, 64<<10))}
	if err := r.seek(); err != nil {
		f.Close()
		return nil, &CorruptError{ID: m.ID, Field: "manifest", Err: err}
	}
	return r, nil
}

// seek moves to the first element of "entries".
func (r *v1Entries) seek() error {
	if err := expectDelim(r.dec, '{'); err != nil {
		return err
	}
	for r.dec.More() {
		key, err := stringToken(r.dec)
		if err != nil {
			return err
		}
		if key == "entries" {
			return expectDelim(r.dec, '[')
		}
		if err := skipValue(r.dec); err != nil {
			return err
		}
	}
	return errors.New(`no "entries"`)
}

func (r *v1Entries) next() (*Entry, error) {
	if r.done {
		return nil, io.EOF
	}
	if !r.dec.More() {
		r.done = true
		if r.n != r.m.Entries {
			return nil, &CorruptError{ID: r.m.ID, Field: "entry count", Expected: strconv.Itoa(r.m.Entries), Got: strconv.Itoa(r.n)}
		}
		return nil, io.EOF
	}
	e := new(Entry)
	if err := r.dec.Decode(e); err != nil {
		return nil, &CorruptError{ID: r.m.ID, Field: "manifest", Err: fmt.Errorf("entry %d: %w", r.n+1, err)}
	}
	r.n++
	if n := r.links[e.Path]; n > 0 && e.Type == TypeFile {
		e.NLink = n + 1
	}
	return e, nil
}

func (r *v1Entries) Close() error { return r.f.Close() }

// v1LinkTargets collects the first names hard links of a format-1 list
// point at (few: each is a file with several names).
func v1LinkTargets(dir string, m *Manifest) (map[string]int, error) {
	r, err := openV1Entries(dir, m)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	out := map[string]int{}
	for {
		e, err := r.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if e.Type == TypeHardlink {
			out[e.Link]++
		}
	}
}

// validator checks each entry as it is read, with memory bounded by the
// tree's depth (and the number of multiply-linked files):
//   - the root "." first, a directory;
//   - paths clean and relative, in the walk's order (comparePaths), hence
//     no duplicates;
//   - each entry's parent a directory listed before it and still "open"
//     in the depth-first order, so that nothing is ever written through a
//     symlink or into a file;
//   - only known types; files with a size and a SHA-256; symlinks with a
//     target (any target: links are restored as links); hard links naming
//     an earlier regular file that has several names.
//
// Since the archive must then match the entries one by one, it is held to
// the same rules.
type validator struct {
	src   entrySource
	id    string
	n     int
	prev  string
	dirs  []string        // the open directories, outermost first
	files map[string]bool // regular files hard links may name
}

func (v *validator) Close() error { return v.src.Close() }

func (v *validator) next() (*Entry, error) {
	e, err := v.src.next()
	if err == io.EOF {
		if v.n == 0 {
			return nil, v.corrupt("", "the entry list is empty; the first entry must be the root directory \".\"")
		}
		return nil, io.EOF
	}
	if err != nil {
		return nil, err
	}
	if err := v.check(e); err != nil {
		return nil, err
	}
	v.n++
	return e, nil
}

func (v *validator) corrupt(path, why string) error {
	return &CorruptError{ID: v.id, Path: path, Field: "manifest", Err: errors.New(why)}
}

func (v *validator) unsafe(u *UnsafeEntryError) error {
	return &CorruptError{ID: v.id, Path: u.Path, Field: "unsafe", Err: u}
}

func (v *validator) check(e *Entry) error {
	if v.n == 0 {
		if e.Path != "." || e.Type != TypeDir {
			return v.corrupt(e.Path, "the first entry must be the root directory \".\"")
		}
	} else {
		if u := checkRel(e.Path); u != nil {
			return v.unsafe(u)
		}
		if e.Path == "." || comparePaths(v.prev, e.Path) >= 0 {
			return v.corrupt(e.Path, "listed twice or out of order (after "+quote(v.prev)+")")
		}
		parent := parentOf(e.Path)
		for len(v.dirs) > 0 && !under(e.Path, v.dirs[len(v.dirs)-1]) {
			v.dirs = v.dirs[:len(v.dirs)-1]
		}
		if len(v.dirs) == 0 || v.dirs[len(v.dirs)-1] != parent {
			return v.unsafe(&UnsafeEntryError{Path: e.Path, Reason: "its parent " + quote(parent) + " is not a directory listed before it (a write through a symlink?)"})
		}
	}
	v.prev = e.Path
	if e.Mode > 0o7777 {
		return v.corrupt(e.Path, "mode out of range")
	}
	switch e.Type {
	case TypeDir:
		v.dirs = append(v.dirs, e.Path)
	case TypeFile:
		if e.Size < 0 || !isHexHash(e.Hash) {
			return v.corrupt(e.Path, "a file needs a size and a SHA-256")
		}
		if e.NLink > 1 {
			v.files[e.Path] = true
		}
	case TypeSymlink:
		if e.Link == "" || strings.IndexByte(e.Link, 0) >= 0 {
			return v.corrupt(e.Path, "symlink without a target, or with a NUL byte in it")
		}
	case TypeHardlink:
		if u := checkRel(e.Link); u != nil || e.Link == "." {
			return v.unsafe(&UnsafeEntryError{Path: e.Path, Reason: "hard link to " + quote(e.Link) + " outside the tree"})
		}
		if !v.files[e.Link] {
			return v.unsafe(&UnsafeEntryError{Path: e.Path, Reason: "hard link to " + quote(e.Link) + ", which is not a regular file listed before it"})
		}
		if e.Size < 0 || !isHexHash(e.Hash) {
			return v.corrupt(e.Path, "a hard link needs its file's size and SHA-256")
		}
	default:
		return v.unsafe(&UnsafeEntryError{Path: e.Path, Reason: "type " + strconv.Quote(e.Type) + " is not allowed (devices, FIFOs and sockets never are)"})
	}
	return nil
}

func isHexHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// comparePaths orders entry paths as walkTree visits them: "." first, a
// directory before its contents, siblings by the bytes of their names;
// that is byte order with "/" below every other byte (NUL never occurs).
func comparePaths(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == ".":
		return -1
	case b == ".":
		return 1
	}
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		switch {
		case ca == '/':
			return -1
		case cb == '/':
			return 1
		case ca < cb:
			return -1
		}
		return 1
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}
