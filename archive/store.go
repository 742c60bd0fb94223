package archive

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/carbonguard/carbonguard/internal/durable"
)

// Names inside the store.
const (
	manifestName = "manifest.json"
	verifiedName = "verified.json"
	tmpPrefix    = ".tmp-" // a snapshot being created (or left by a crash)
	delPrefix    = ".del-" // a snapshot being deleted
	restoreLock  = ".restore.lock"
	contentLock  = ".content.lock" // shared by whoever reads or adds content, exclusive for a sweep
	recordName   = "restore.json"  // beside the store directory, in the state directory
)

// Store is a directory of snapshots:
//
//	<dir>/<id>/data.tar.zst       the archive (data.tar.gz with gzip)
//	<dir>/<id>/entries.jsonl.zst  the entry list, in archive order (see manifest.go)
//	<dir>/<id>/attachments/       named extra files (see Attachment)
//	<dir>/<id>/manifest.json      written last: its presence marks the snapshot complete
//	<dir>/<id>/verified.json  the outcome of the last Verify
//	<dir>/.tmp-<id>/          a snapshot being created; never listed, removed once stale
//	<dir>/.in-use/<id>.<pid>.<n>  a lease: the snapshot is read by a running process (see Lease)
//	<dir>/../restore.json     the in-flight restore record (see Restore, Recover)
//
// A Store is safe for use by one goroutine at a time; separate processes are
// kept apart by the caller's lock, and by flocks on the in-progress
// directories so that a reader never removes a partial snapshot still being
// written.
type Store struct {
	dir    string
	record string
	log    zerolog.Logger
}

// OpenStore opens (creating if needed) the store in dir, which should be
// <state>/snapshots. The restore record lives beside it, in
// filepath.Dir(dir)/restore.json. Partial snapshots left by a killed Create
// are removed.
func OpenStore(dir string, log zerolog.Logger) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("snapshot store %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("creating snapshot store: %w", err)
	}
	s := &Store{dir: abs, record: filepath.Join(filepath.Dir(abs), recordName), log: log}
	s.cleanStale()
	return s, nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

// RecordPath is where the in-flight restore record lives.
func (s *Store) RecordPath() string { return s.record }

// cleanStale removes partial snapshots whose creator is gone (its flock on
// the directory is free) and deletions that were interrupted.
func (s *Store) cleanStale() {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		s.log.Warn().Err(err).Str("dir", s.dir).Msg("listing snapshot store")
		return
	}
	for _, e := range ents {
		name := e.Name()
		if !e.IsDir() || !(strings.HasPrefix(name, tmpPrefix) || strings.HasPrefix(name, delPrefix)) {
			continue
		}
		p := filepath.Join(s.dir, name)
		unlock, ok := tryLockDir(p)
		if !ok {
			continue // its creator is alive
		}
		err := os.RemoveAll(p)
		unlock()
		if err != nil {
			s.log.Warn().Err(err).Str("path", p).Msg("removing a partial snapshot")
			continue
		}
		s.log.Info().Str("path", p).Msg("removed a partial snapshot left by an interrupted run")
	}
	_ = durable.SyncDir(s.dir)
}

// List returns the snapshots, oldest first. Complete snapshots carry their
// summary; directories without a readable manifest are listed with
// Incomplete set.
func (s *Store) List() ([]Info, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("listing snapshots in %s: %w", s.dir, err)
	}
	var out []Info
	for _, e := range ents {
		name := e.Name()
		if !e.IsDir() || strings.HasPrefix(name, ".") || name == packsDir {
			continue
		}
		m, err := s.readManifest(name)
		if err != nil {
			info := Info{ID: name, Incomplete: true, Problem: err.Error()}
			if t, ok := timeFromID(name); ok {
				info.Created = t
			}
			out = append(out, info)
			continue
		}
		info := Info{
			ID: m.ID, Created: m.Created, Reason: m.Reason, Meta: m.Meta, Compression: m.Compression, Storage: m.Storage,
			ArchiveSize: m.ArchiveSize, Bytes: m.Bytes, Files: m.Files, Entries: m.Entries, NewBytes: m.NewBytes,
		}
		if m.Storage != storagePacks {
			// A self-contained snapshot added all of itself.
			info.NewBytes = m.ArchiveSize
			if m.list != nil {
				info.NewBytes += m.list.FileSize
			}
			for _, a := range m.Attachments {
				info.NewBytes += a.Size
			}
		}
		if vr, err := s.readVerified(name); err == nil {
			info.Verified = vr
		}
		out = append(out, info)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Usage is the store's size on disk.
type Usage struct {
	Snapshots int   `json:"snapshots"`
	Packs     int   `json:"packs"`
	PackBytes int64 `json:"pack_bytes"` // the shared content (format 3)
	Bytes     int64 `json:"bytes"`      // everything: packs, snapshot directories, partial leftovers
}

// Usage measures the store: what it holds on disk in all.
func (s *Store) Usage() (*Usage, error) {
	u := &Usage{}
	err := filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed meanwhile
			}
			return err
		}
		rel, _ := filepath.Rel(s.dir, p)
		if d.IsDir() {
			if filepath.Dir(rel) == "." && rel != "." && rel != packsDir && !strings.HasPrefix(rel, ".") {
				u.Snapshots++
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		u.Bytes += info.Size()
		if filepath.Dir(rel) == packsDir && strings.HasSuffix(rel, packExt) {
			u.Packs++
			u.PackBytes += info.Size()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("measuring the snapshot store %s: %w", s.dir, err)
	}
	return u, nil
}

// Show returns a complete snapshot's manifest.
func (s *Store) Show(id string) (*Manifest, error) {
	return s.readManifest(id)
}

// LastVerified returns the outcome of the snapshot's last Verify, or nil.
func (s *Store) LastVerified(id string) (*VerifyRecord, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	vr, err := s.readVerified(id)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return vr, err
}

func (s *Store) readManifest(id string) (*Manifest, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	dir := filepath.Join(s.dir, id)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, &NotFoundError{ID: id}
	}
	p := filepath.Join(dir, manifestName)
	m, err := readManifestFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &IncompleteError{ID: id, Reason: "no manifest.json (the snapshot was never completed)"}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return nil, fmt.Errorf("reading snapshot %s: %w", id, err)
	}
	if err != nil {
		return nil, &CorruptError{ID: id, Field: "manifest", Err: fmt.Errorf("%s: %w", p, err)}
	}
	if m.SchemaVersion > ManifestSchema {
		return nil, fmt.Errorf("snapshot %s: manifest schema %d is newer than this carbonguard knows (%d); use a newer carbonguard", id, m.SchemaVersion, ManifestSchema)
	}
	if m.SchemaVersion < schemaV1 {
		return nil, &CorruptError{ID: id, Field: "manifest schema", Expected: "1 or 2", Got: strconv.Itoa(m.SchemaVersion)}
	}
	if m.ID != id {
		return nil, &CorruptError{ID: id, Field: "manifest id", Expected: id, Got: m.ID}
	}
	return m, nil
}

// Entries calls fn with each entry of a complete snapshot, in archive
// order, reading the entry list as a stream. Entries are checked as they
// are read (a corrupt list ends with a *CorruptError); fn's error stops
// the iteration and is returned.
func (s *Store) Entries(id string, fn func(*Entry) error) error {
	m, err := s.Show(id)
	if err != nil {
		return err
	}
	src, err := openEntries(filepath.Join(s.dir, id), m)
	if err != nil {
		return err
	}
	defer src.Close()
	for {
		e, err := src.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}

func (s *Store) readVerified(id string) (*VerifyRecord, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, id, verifiedName))
	if err != nil {
		return nil, err
	}
	var vr VerifyRecord
	if err := json.Unmarshal(data, &vr); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(s.dir, id, verifiedName), err)
	}
	return &vr, nil
}

// Delete removes a snapshot. It is first renamed out of the listing so that
// a crash half-way never leaves something that looks complete. A snapshot
// that a running process reads (a live lease, see Lease) is refused with
// *InUseError; the check and the rename happen under the lease lock, so a
// lease taken meanwhile either came first (refused) or finds it gone.
func (s *Store) Delete(id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	src := filepath.Join(s.dir, id)
	if _, err := os.Lstat(src); err != nil {
		return &NotFoundError{ID: id}
	}
	unlock, err := s.lockLeases()
	if err != nil {
		return fmt.Errorf("deleting snapshot %s: %w", id, err)
	}
	live, _, err := s.readLeases()
	if err != nil {
		unlock()
		return fmt.Errorf("deleting snapshot %s: %w", id, err)
	}
	if ls := live[id]; len(ls) > 0 {
		unlock()
		return &InUseError{ID: id, Leases: ls}
	}
	dst := filepath.Join(s.dir, delPrefix+id)
	err = os.Rename(src, dst)
	unlock()
	if err != nil {
		return fmt.Errorf("deleting snapshot %s: %w", id, err)
	}
	if err := durable.SyncDir(s.dir); err != nil {
		return err
	}
	if err := os.RemoveAll(dst); err != nil {
		return fmt.Errorf("deleting snapshot %s: %w", id, err)
	}
	return durable.SyncDir(s.dir)
}

// checkID refuses ids that are not a plain directory name of the store.
func checkID(id string) error {
	if id == "" || id == packsDir || strings.HasPrefix(id, ".") || strings.ContainsAny(id, `/\`) || id != filepath.Base(id) {
		return &NotFoundError{ID: id}
	}
	return nil
}

const idTimeLayout = "20060102T150405Z"

func timeFromID(id string) (time.Time, bool) {
	if len(id) < len(idTimeLayout) {
		return time.Time{}, false
	}
	t, err := time.Parse(idTimeLayout, id[:len(idTimeLayout)])
	return t, err == nil
}

// Mode is a permission mode (07777 bits) that reads and writes as an octal
// string in JSON ("0755").
type Mode uint32

func (m Mode) String() string { return fmt.Sprintf("%04o", uint32(m)) }

func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

func (m *Mode) UnmarshalText(b []byte) error {
	v, err := strconv.ParseUint(string(b), 8, 32)
	if err != nil || v > 0o7777 {
		return fmt.Errorf("invalid mode %q: want octal permission bits like 0755", b)
	}
	*m = Mode(v)
	return nil
}

// Duration is a time.Duration that reads and writes as "1.5s" in JSON.
type Duration time.Duration

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// tryLockDir takes a non-blocking exclusive flock on a directory.
func tryLockDir(path string) (unlock func(), ok bool) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, false
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		unix.Close(fd)
		return nil, false
	}
	return func() { unix.Close(fd) }, true
}
