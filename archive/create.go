package archive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"golang.org/x/sys/unix"

	"github.com/carbonguard/carbonguard/internal/durable"
)

var reasonRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// testHook is called at named points of Create and Restore ("create:archived",
// "restore:staged", "restore:step"...), with the entry concerned where
// there is one. Tests that kill the process for real set it; in production
// it does nothing.
var testHook = func(point, path string) {}

// Create snapshots the tree at root into a new snapshot and returns its
// manifest. It streams: memory grows with the number of entries (the
// manifest), not with their size. It fails, removing everything it wrote,
// when the tree holds something a restore would refuse, when a file changes
// while it is read, when space runs out, or when ctx is cancelled.
func (s *Store) Create(ctx context.Context, root string, o CreateOptions) (*Manifest, error) {
	start := time.Now()
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(root); err != nil {
		return nil, fmt.Errorf("snapshot of %s: %w", root, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("snapshot of %s: not a directory", root)
	}
	reason := o.Reason
	if reason == "" {
		reason = "manual"
	}
	if !reasonRE.MatchString(reason) {
		return nil, &UsageError{What: "snapshot reason", Value: reason, Why: "use lower-case letters, digits and dashes (e.g. manual, pre-update), at most 40"}
	}
	comp := o.Compression
	if comp == "" {
		comp = CompressionZstd
	}
	if comp != CompressionZstd && comp != CompressionGzip {
		return nil, &UsageError{What: "compression", Value: comp, Why: "use zstd or gzip"}
	}
	excl, err := cleanRelList("exclude", o.Exclude)
	if err != nil {
		return nil, err
	}
	exclude := map[string]bool{}
	for _, p := range excl {
		exclude[p] = true
	}
	for _, a := range o.Attachments {
		if err := checkAttachmentName(a.Name); err != nil {
			return nil, err
		}
	}
	if inTree(s.dir, root) {
		return nil, fmt.Errorf("snapshot store %s is inside %s: a snapshot would contain the store; put the state directory outside the tree", s.dir, root)
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	created := now().UTC()

	id, tmp, unlock, err := s.reserve(created, reason)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			if err := os.RemoveAll(tmp); err != nil {
				s.log.Warn().Err(err).Str("path", tmp).Msg("removing the partial snapshot")
			}
			_ = durable.SyncDir(s.dir)
		}
		unlock()
	}()

	// Format 3 (the default: content in the store's packs, shared between
	// snapshots) or format 2 (gzip: one self-contained data.tar.gz).
	packs := comp == CompressionZstd
	var (
		idx    *contentIndex
		cache  *statCache
		parent string
	)
	if packs {
		unlockContent, err := s.lockContent(false)
		if err != nil {
			return nil, err
		}
		defer unlockContent()
		if idx, err = s.contentIndex(); err != nil {
			return nil, err
		}
		if !o.Reread {
			parent, cache = s.statCacheFor(root)
			defer cache.close()
		}
	}

	// One walk: it lists what cannot be stored before anything is
	// archived, sums the totals for the space check and the progress bar,
	// finds the files the stat cache vouches for, and leaves its nodes in
	// a spill file that the archiving reads back.
	walkStarted := now()
	sp, err := newSpill(filepath.Join(tmp, ".walk"))
	if err != nil {
		return nil, err
	}
	defer sp.close()
	w, err := walkInto(ctx, root, exclude, sp, cache)
	if err != nil {
		return nil, s.createError(root, err)
	}
	if len(w.problems) > 0 {
		return nil, &UnstorableError{Root: root, Entries: w.problems}
	}
	if err := s.checkSpace(tmp, comp, w.bytes-w.cachedBytes, w.files-w.cached); err != nil {
		return nil, err
	}
	if err := sp.rewind(); err != nil {
		return nil, err
	}

	m := &Manifest{
		SchemaVersion: schemaV2, ID: id, Created: created, Reason: reason, ToolVersion: o.ToolVersion,
		Root: root, Meta: o.Meta, Exclude: excl, Compression: comp, Archive: archiveName(comp),
	}
	ew, err := newEntriesWriter(filepath.Join(tmp, entriesName))
	if err != nil {
		return nil, err
	}
	prog := newProgress("create", o.Progress, w.bytes, w.files)
	var werr error
	if packs {
		m.SchemaVersion, m.Storage, m.Archive, m.Parent, m.walkStarted = ManifestSchema, storagePacks, "", parent, walkStarted.UTC()
		werr = s.archivePacks(ctx, root, tmp, sp, ew, idx, prog, m, o.NoSync)
	} else {
		werr = s.archiveTar(ctx, root, tmp, sp, ew, prog, m, o.NoSync)
	}
	if werr != nil {
		ew.abort()
		return nil, s.createError(root, werr)
	}
	if m.list, werr = ew.finish(o.NoSync); werr != nil {
		return nil, s.createError(root, werr)
	}
	sp.close()
	if m.Attachments, werr = writeAttachments(ctx, tmp, o.Attachments, o.NoSync); werr != nil {
		return nil, s.createError(root, werr)
	}
	m.Entries = m.list.Count
	if packs {
		m.NewBytes += m.list.FileSize
		for _, a := range m.Attachments {
			m.NewBytes += a.Size
		}
		// The new packs join the store's: complete (synced, indexed) and
		// referenced by nothing until the manifest below is written. A crash
		// from here on leaves them for the next sweep.
		if err := s.adoptPacks(filepath.Join(tmp, packsDir), m.NewPacks, o.NoSync); err != nil {
			return nil, s.createError(root, err)
		}
	}
	testHook("create:archived", "")
	if err := writeManifestFile(filepath.Join(tmp, manifestName), m); err != nil {
		return nil, s.createError(root, err)
	}
	testHook("create:manifest", "")
	if err := os.Rename(tmp, filepath.Join(s.dir, id)); err != nil {
		return nil, fmt.Errorf("completing snapshot %s: %w", id, err)
	}
	ok = true
	if err := durable.SyncDir(s.dir); err != nil {
		return nil, err
	}
	prog.finish()
	s.log.Info().Str("id", id).Int("entries", m.Entries).Int64("bytes", m.Bytes).Int("reused", m.Reused).
		Int64("new_bytes", m.NewBytes).Int64("archive_bytes", m.ArchiveSize).Dur("took", time.Since(start)).Msg("snapshot created")
	return m, nil
}

// archiveTar writes a format-2 snapshot's archive: one compressed tar.
func (s *Store) archiveTar(ctx context.Context, root, tmp string, sp *spill, ew *entriesWriter, prog *progress, m *Manifest, noSync bool) error {
	f, err := os.OpenFile(filepath.Join(tmp, m.Archive), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	cw := &writeBehindFile{fd: int(f.Fd()), w: bw, durable: !noSync}
	zw, err := compressor(m.Compression, cw)
	if err != nil {
		return err
	}
	a := &archiver{out: newSink(zw), h: sha256.New(), list: ew, firsts: map[string]*Entry{}, prog: prog}
	werr := eachSpilled(ctx, root, sp, a.add)
	if werr == nil {
		werr = a.finish()
	}
	if cerr := zw.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = bw.Flush()
	}
	if werr == nil && !noSync {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	m.Files, m.Bytes, m.ArchiveSize = a.files, a.bytes, cw.n
	return werr
}

// archivePacks writes a format-3 snapshot's new content into packs in
// tmp/packs (see packArchiver).
func (s *Store) archivePacks(ctx context.Context, root, tmp string, sp *spill, ew *entriesWriter, idx *contentIndex, prog *progress, m *Manifest, noSync bool) error {
	dir := filepath.Join(tmp, packsDir)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	sink, err := newBlobSink(idx, newPackWriter(dir, noSync), codecWorkers())
	if err != nil {
		return err
	}
	a := &packArchiver{sink: sink, idx: idx, list: ew, firsts: map[string]*Entry{}, prog: prog}
	werr := eachSpilled(ctx, root, sp, a.add)
	packs, ferr := a.finish()
	if werr == nil {
		werr = ferr
	}
	if werr != nil {
		return werr
	}
	m.Files, m.Bytes, m.ArchiveSize, m.Reused, m.NewPacks = a.files, a.bytes, a.stored, a.reused, packs
	for _, p := range packs {
		m.NewBytes += p.Size
	}
	return nil
}

// eachSpilled calls add with every node of the walk, in order.
func eachSpilled(ctx context.Context, root string, sp *spill, add func(*node) error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var n node
		if err := sp.get(root, &n); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		if err := add(&n); err != nil {
			return err
		}
	}
}

func (s *Store) createError(root string, err error) error {
	if errors.Is(err, unix.ENOSPC) {
		return &InsufficientSpaceError{Dir: s.dir, What: "snapshot", Need: -1, Free: 0}
	}
	var ce *ChangedError
	var ue *UsageError
	if errors.As(err, &ce) || errors.As(err, &ue) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("snapshot of %s: %w", root, err)
}

// reserve picks an id that sorts by time and says why, unique even within
// one second, and creates its in-progress directory, holding an flock on it
// for as long as the snapshot is being written.
func (s *Store) reserve(created time.Time, reason string) (id, tmp string, unlock func(), err error) {
	base := created.Format(idTimeLayout) + "-" + reason
	for i := 1; i < 1000; i++ {
		id = base
		if i > 1 {
			id = fmt.Sprintf("%s-%d", base, i)
		}
		if _, err := os.Lstat(filepath.Join(s.dir, id)); err == nil {
			continue
		}
		tmp = filepath.Join(s.dir, tmpPrefix+id)
		if err := os.Mkdir(tmp, 0o700); err != nil {
			if os.IsExist(err) {
				continue
			}
			return "", "", nil, fmt.Errorf("creating snapshot directory: %w", err)
		}
		unlock, ok := tryLockDir(tmp)
		if !ok {
			continue // another process's cleanup raced us for it
		}
		return id, tmp, unlock, nil
	}
	return "", "", nil, fmt.Errorf("no free snapshot id for %s in %s", base, s.dir)
}

// checkSpace estimates the archive's size from the last snapshot's
// compression ratio (1:1 without one) and compares it with the free space.
func (s *Store) checkSpace(dir, comp string, bytes int64, files int) error {
	ratio := 1.0
	if list, err := s.List(); err == nil {
		for i := len(list) - 1; i >= 0; i-- {
			if in := list[i]; !in.Incomplete && in.Compression == comp && in.Bytes > 0 {
				ratio = min(max(float64(in.ArchiveSize)/float64(in.Bytes)*1.1, 0.05), 1.0)
				break
			}
		}
	}
	need := int64(float64(bytes)*ratio) + int64(files+1)*1024 + 16<<20
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		return fmt.Errorf("free space in %s: %w", dir, err)
	}
	free := int64(fs.Bavail) * int64(fs.Bsize)
	if need > free {
		return &InsufficientSpaceError{Dir: s.dir, Need: need, Free: free, What: "snapshot"}
	}
	return nil
}

// inTree reports whether p is root or below it, comparing real paths.
func inTree(p, root string) bool {
	rp, err1 := filepath.EvalSymlinks(p)
	rr, err2 := filepath.EvalSymlinks(root)
	if err1 != nil || err2 != nil {
		rp, rr = p, root
	}
	rel, err := filepath.Rel(rr, rp)
	return err == nil && rel != ".." && (len(rel) < 3 || rel[:3] != "../")
}

// archiver writes the tar stream and the entry list. Headers come from
// archive/tar; file contents bypass tar.Writer so that they can be read
// straight into the compressor's buffers (see copyFile), and the archiver
// adds the padding and the end-of-archive blocks itself.
type archiver struct {
	out    sink
	hdr    bytes.Buffer
	h      hash.Hash
	list   *entriesWriter
	firsts map[string]*Entry // first names of files with several names, for their hard links
	files  int
	bytes  int64
	prog   *progress
}

// entryOf describes a node as a manifest entry (without its content hash).
func entryOf(n *node) Entry {
	st := &n.st
	return Entry{
		Path: n.rel, Mode: Mode(st.Mode & 0o7777), MTime: time.Unix(st.Mtim.Sec, st.Mtim.Nsec).UTC(),
		UID: int(st.Uid), GID: int(st.Gid),
		CTime: time.Unix(st.Ctim.Sec, st.Ctim.Nsec).UTC(), Ino: st.Ino, Dev: st.Dev,
	}
}

// tarHeader is the archive header of an entry. It depends on the entry
// alone, so the same entry list always gives the same tar stream.
func tarHeader(e *Entry) *tar.Header {
	hdr := &tar.Header{
		Name: e.Path, Mode: int64(e.Mode), Uid: e.UID, Gid: e.GID, ModTime: time.Unix(e.MTime.Unix(), 0),
	}
	switch e.Type {
	case TypeDir:
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
		if e.Path == "." {
			hdr.Name = "./"
		}
	case TypeSymlink:
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, e.Link
	case TypeHardlink:
		hdr.Typeflag, hdr.Linkname = tar.TypeLink, e.Link
	case TypeFile:
		hdr.Typeflag, hdr.Size = tar.TypeReg, e.Size
	}
	return hdr
}

func (a *archiver) add(n *node) error {
	e := entryOf(n)
	switch n.kind() {
	case unix.S_IFDIR:
		e.Type = TypeDir
	case unix.S_IFLNK:
		// Stored as the link it is, wherever it points: never followed.
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
		sum, err := a.copyFile(n, tarHeader(&e))
		if err != nil {
			return err
		}
		e.Hash = sum
		a.bytes += e.Size
		a.prog.add(0, 1)
		if e.NLink > 1 {
			first := e
			a.firsts[e.Path] = &first
		}
		return a.list.add(&e)
	default: // the walk refused the tree already; the type changed since
		return &ChangedError{Path: n.rel, What: "became a " + unstorable(n)}
	}
	if err := a.writeHeader(tarHeader(&e)); err != nil {
		return err
	}
	return a.list.add(&e)
}

const tarBlock = 512

var zeroBlock [2 * tarBlock]byte

// writeHeader writes hdr's blocks (with any PAX or GNU records) as
// archive/tar encodes them. A fresh tar.Writer per entry, since the
// content does not go through it.
func (a *archiver) writeHeader(hdr *tar.Header) error {
	a.hdr.Reset()
	if err := tar.NewWriter(&a.hdr).WriteHeader(hdr); err != nil {
		return err
	}
	_, err := a.out.Write(a.hdr.Bytes())
	return err
}

// finish writes the end of the archive: two zero blocks.
func (a *archiver) finish() error {
	_, err := a.out.Write(zeroBlock[:])
	return err
}

// copyFile streams one file into the archive, hashing it in the same read,
// and fails when the file changed while it was read.
func (a *archiver) copyFile(n *node, hdr *tar.Header) (string, error) {
	fd, err := unix.Open(n.abs, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ELOOP) {
			return "", &ChangedError{Path: n.rel, What: "removed or replaced"}
		}
		return "", &os.PathError{Op: "open", Path: n.abs, Err: err}
	}
	f := os.NewFile(uintptr(fd), n.abs)
	defer f.Close()
	if err := a.writeHeader(hdr); err != nil {
		return "", err
	}
	a.h.Reset()
	// The file is read straight into the compressor's input and hashed
	// there: one copy from the page cache, none in user space.
	for remaining := n.st.Size; remaining > 0; {
		space, err := a.out.space()
		if err != nil {
			return "", err
		}
		chunk := space[:min(int64(len(space)), remaining)]
		k, err := io.ReadFull(f, chunk)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return "", &ChangedError{Path: n.rel, What: fmt.Sprintf("short read: %d of %d bytes", n.st.Size-remaining+int64(k), n.st.Size)}
		}
		if err != nil {
			return "", err
		}
		a.h.Write(chunk)
		if err := a.out.commit(k); err != nil {
			return "", err
		}
		remaining -= int64(k)
		a.prog.add(int64(k), 0)
	}
	if pad := -n.st.Size & (tarBlock - 1); pad > 0 {
		if _, err := a.out.Write(zeroBlock[:pad]); err != nil {
			return "", err
		}
	}
	testHook("create:read", n.rel)
	var after unix.Stat_t
	if err := unix.Fstat(fd, &after); err != nil {
		return "", &os.PathError{Op: "fstat", Path: n.abs, Err: err}
	}
	if what := changed(&n.st, &after); what != "" {
		return "", &ChangedError{Path: n.rel, What: what}
	}
	return hex.EncodeToString(a.h.Sum(nil)), nil
}

// changed compares a file's status before and after it was read.
func changed(before, after *unix.Stat_t) string {
	switch {
	case before.Dev != after.Dev || before.Ino != after.Ino:
		return "file replaced"
	case before.Size != after.Size:
		return fmt.Sprintf("size %d -> %d", before.Size, after.Size)
	case before.Mtim != after.Mtim:
		return "modification time changed"
	case before.Ctim != after.Ctim:
		return "status change time changed"
	}
	return ""
}
