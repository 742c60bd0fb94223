package archive

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/internal/durable"
)

// damaged builds a snapshot and returns the store, the live tree, the
// snapshot's manifest and the file holding its content: the archive
// (gzip: format 2) or the store's one pack (zstd: format 3).
func damaged(t *testing.T, comp string) (*Store, string, *Manifest, string) {
	s, _ := openTestStore(t)
	root := filepath.Join(t.TempDir(), "pack")
	makeTree(t, root)
	m := createSnap(t, s, root, CreateOptions{Compression: comp})
	if m.Storage != storagePacks {
		return s, root, m, filepath.Join(s.Dir(), m.ID, m.Archive)
	}
	require.Len(t, m.NewPacks, 1)
	return s, root, m, filepath.Join(s.Dir(), packsDir, m.NewPacks[0].Name+packExt)
}

func TestVerifyAndRestoreRefuseDamage(t *testing.T) {
	t.Parallel()
	flip := func(t *testing.T, path string, at func(size int64) int64) {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		data[at(int64(len(data)))] ^= 0x01
		require.NoError(t, os.WriteFile(path, data, 0o600))
	}
	const (
		corrupt    = "corrupt"
		incomplete = "incomplete"
		skip       = ""
	)
	tests := []struct {
		name   string
		damage func(t *testing.T, s *Store, m *Manifest, content string)
		want   [2]string // format 2 (gzip), format 3 (packs)
	}{
		{"one flipped byte in the middle", func(t *testing.T, _ *Store, _ *Manifest, a string) {
			flip(t, a, func(n int64) int64 { return n / 2 })
		}, [2]string{corrupt, corrupt}},
		{"one flipped byte near the end", func(t *testing.T, _ *Store, _ *Manifest, a string) {
			flip(t, a, func(n int64) int64 { return n - 10 })
		}, [2]string{corrupt, corrupt}},
		{"truncated content", func(t *testing.T, _ *Store, _ *Manifest, a string) {
			st, err := os.Stat(a)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(a, st.Size()*2/3))
		}, [2]string{incomplete, incomplete}},
		{"content missing", func(t *testing.T, _ *Store, _ *Manifest, a string) {
			require.NoError(t, os.Remove(a))
		}, [2]string{incomplete, incomplete}},
		{"pack index missing", func(t *testing.T, _ *Store, _ *Manifest, a string) {
			require.NoError(t, os.Remove(strings.TrimSuffix(a, packExt)+idxExt))
		}, [2]string{skip, incomplete}},
		{"pack index points elsewhere", func(t *testing.T, _ *Store, _ *Manifest, a string) {
			p := strings.TrimSuffix(a, packExt) + idxExt
			data, err := os.ReadFile(p)
			require.NoError(t, err)
			lines := strings.SplitAfter(string(data), "\n")
			// Swap two blobs' places.
			lines[1], lines[2] = strings.Replace(lines[1], lines[1][:75], lines[2][:75], 1), strings.Replace(lines[2], lines[2][:75], lines[1][:75], 1)
			require.NoError(t, os.WriteFile(p, []byte(strings.Join(lines, "")), 0o600))
		}, [2]string{skip, corrupt}},
		{"manifest missing", func(t *testing.T, s *Store, m *Manifest, _ string) {
			require.NoError(t, os.Remove(filepath.Join(s.Dir(), m.ID, manifestName)))
		}, [2]string{incomplete, incomplete}},
		{"manifest hash differs", func(t *testing.T, s *Store, m *Manifest, _ string) {
			entries := entriesOf(t, s, m.ID)
			for i := range entries {
				if entries[i].Path == "conf/deployment.toml" {
					entries[i].Hash = hex.EncodeToString(make([]byte, 32))
				}
			}
			writeManifestV2(t, filepath.Join(s.Dir(), m.ID), m, entries)
		}, [2]string{corrupt, incomplete}}, // format 3: no such content in the store
		{"entry list edited behind the manifest's back", func(t *testing.T, s *Store, m *Manifest, _ string) {
			entries := entriesOf(t, s, m.ID)
			entries[1].Mode = 0o777
			old := *m.list
			writeManifestV2(t, filepath.Join(s.Dir(), m.ID), m, entries)
			old.FileSize = m.list.FileSize // the old lines' size and hash, the file's new size
			m.list = &old
			require.NoError(t, writeManifestFile(filepath.Join(s.Dir(), m.ID, manifestName), m))
		}, [2]string{corrupt, corrupt}},
		{"entry list truncated", func(t *testing.T, s *Store, m *Manifest, _ string) {
			p := filepath.Join(s.Dir(), m.ID, entriesName)
			st, err := os.Stat(p)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(p, st.Size()/2))
		}, [2]string{incomplete, incomplete}},
		{"entry list missing", func(t *testing.T, s *Store, m *Manifest, _ string) {
			require.NoError(t, os.Remove(filepath.Join(s.Dir(), m.ID, entriesName)))
		}, [2]string{incomplete, incomplete}},
	}
	for f, comp := range []string{CompressionGzip, CompressionZstd} {
		for _, tc := range tests {
			want := tc.want[f]
			if want == skip {
				continue
			}
			t.Run(comp+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				s, root, m, a := damaged(t, comp)
				before := describe(t, root)
				tc.damage(t, s, m, a)

				_, err := s.Verify(context.Background(), m.ID, nil)
				require.Error(t, err)
				var ce *CorruptError
				var ie *IncompleteError
				if want == corrupt {
					require.ErrorAs(t, err, &ce, "%v", err)
					assert.NotErrorAs(t, err, &ie)
				} else {
					require.ErrorAs(t, err, &ie, "%v", err)
					assert.NotErrorAs(t, err, &ce)
				}
				if tc.name == "manifest hash differs" && want == corrupt {
					assert.Equal(t, "conf/deployment.toml", ce.Path)
					assert.Equal(t, "sha256", ce.Field)
				}
				if tc.name != "manifest missing" {
					vr, err := s.LastVerified(m.ID)
					require.NoError(t, err)
					require.NotNil(t, vr)
					assert.False(t, vr.OK)
				}

				_, err = s.Restore(context.Background(), m.ID, root, RestoreOptions{})
				require.Error(t, err)
				assert.True(t, errorsAsAny(err, &ce, &ie), "%v", err)
				if tc.name == "manifest hash differs" && want == corrupt {
					// Found by the writer goroutine, reported as is.
					require.ErrorAs(t, err, &ce)
					assert.Equal(t, "conf/deployment.toml", ce.Path)
					assert.Equal(t, "sha256", ce.Field)
				}
				assert.Equal(t, before, describe(t, root), "the refused restore left the target alone")
				leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(root), ".pack.restore-*"))
				assert.Empty(t, leftovers)
				pending, err := s.Pending()
				require.NoError(t, err)
				assert.False(t, pending)
			})
		}
	}
}

func errorsAsAny(err error, targets ...any) bool {
	for _, t := range targets {
		switch p := t.(type) {
		case **CorruptError:
			if asErr(err, p) {
				return true
			}
		case **IncompleteError:
			if asErr(err, p) {
				return true
			}
		}
	}
	return false
}

func asErr[T error](err error, target *T) bool {
	for err != nil {
		if e, ok := err.(T); ok {
			*target = e
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

// craft writes a snapshot by hand: a tar.zst of the given headers and
// contents and a manifest, so that tests can feed verify and restore what
// Create never makes.
type craftEntry struct {
	hdr     tar.Header
	content string
	entry   *Entry // the manifest's view; nil = derived from hdr
}

func craft(t *testing.T, s *Store, id string, items []craftEntry) (*Manifest, []Entry) {
	return craftFormat(t, s, id, items, ManifestSchema)
}

// craftFormat writes the manifest in the given format (1: the inline entry
// list carbonguard wrote before December 2026, 2: the streamed one).
func craftFormat(t *testing.T, s *Store, id string, items []craftEntry, format int) (*Manifest, []Entry) {
	t.Helper()
	dir := filepath.Join(s.Dir(), id)
	require.NoError(t, os.MkdirAll(dir, 0o700))
	f, err := os.Create(filepath.Join(dir, archiveName(CompressionZstd)))
	require.NoError(t, err)
	zw, err := zstd.NewWriter(f)
	require.NoError(t, err)
	tw := tar.NewWriter(zw)
	mt := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	m := &Manifest{SchemaVersion: format, ID: id, Created: mt, Reason: "manual", Compression: CompressionZstd, Archive: archiveName(CompressionZstd)}
	var entries []Entry
	for _, it := range items {
		h := it.hdr
		h.ModTime = mt
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		h.Size = int64(len(it.content))
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		require.NoError(t, tw.WriteHeader(&h))
		if h.Typeflag == tar.TypeReg {
			_, err := tw.Write([]byte(it.content))
			require.NoError(t, err)
		}
		e := Entry{Path: trimDir(h.Name), Mode: Mode(h.Mode), MTime: mt, Link: h.Linkname, UID: h.Uid, GID: h.Gid}
		switch h.Typeflag {
		case tar.TypeDir:
			e.Type = TypeDir
		case tar.TypeReg:
			sum := sha256.Sum256([]byte(it.content))
			e.Type, e.Size, e.Hash = TypeFile, h.Size, hex.EncodeToString(sum[:])
			m.Files++
			m.Bytes += e.Size
		case tar.TypeSymlink:
			e.Type = TypeSymlink
		case tar.TypeLink:
			e.Type = TypeHardlink
		default:
			e.Type = "device"
		}
		if it.entry != nil {
			e = *it.entry
		}
		entries = append(entries, e)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
	st, err := os.Stat(filepath.Join(dir, m.Archive))
	require.NoError(t, err)
	m.ArchiveSize = st.Size()
	switch format {
	case schemaV1:
		writeManifestV1(t, dir, m, entries)
	case schemaV2:
		writeManifestV2(t, dir, m, entries)
	default:
		// Format 3: the contents as blobs in a pack of the store.
		require.NoError(t, os.Remove(filepath.Join(dir, m.Archive)))
		packs := filepath.Join(s.Dir(), packsDir)
		require.NoError(t, os.MkdirAll(packs, 0o700))
		pw := newPackWriter(packs, true)
		for _, it := range items {
			if it.hdr.Typeflag != tar.TypeReg || it.content == "" {
				continue
			}
			require.NoError(t, pw.frame(appendRawFrame(nil, []byte(it.content))))
			_, _, err := pw.commit(sha256.Sum256([]byte(it.content)), int64(len(it.content)))
			require.NoError(t, err)
		}
		_, err := pw.close()
		require.NoError(t, err)
		m.SchemaVersion, m.Storage, m.Archive, m.ArchiveSize, m.walkStarted = ManifestSchema, storagePacks, "", 0, mt
		writeManifestV2(t, dir, m, entries)
	}
	return m, entries
}

// writeManifestV1 is the manifest writer of format 1 (carbonguard before
// December 2026), kept as test code: every entry inline, written by
// encoding/json (which turns bytes that are not UTF-8 into U+FFFD).
func writeManifestV1(t testing.TB, dir string, m *Manifest, entries []Entry) {
	t.Helper()
	type entryV1 struct {
		Path  string    `json:"path"`
		Type  string    `json:"type"`
		Mode  Mode      `json:"mode"`
		Size  int64     `json:"size,omitempty"`
		MTime time.Time `json:"mtime"`
		Link  string    `json:"link,omitempty"`
		Hash  string    `json:"sha256,omitempty"`
		UID   int       `json:"uid"`
		GID   int       `json:"gid"`
	}
	type manifestV1 struct {
		SchemaVersion int               `json:"schema_version"`
		ID            string            `json:"id"`
		Created       time.Time         `json:"created"`
		Reason        string            `json:"reason"`
		ToolVersion   string            `json:"tool_version,omitempty"`
		Root          string            `json:"root"`
		Meta          map[string]string `json:"meta,omitempty"`
		Exclude       []string          `json:"exclude,omitempty"`
		Compression   string            `json:"compression"`
		Archive       string            `json:"archive"`
		ArchiveSize   int64             `json:"archive_size"`
		Files         int               `json:"files"`
		Bytes         int64             `json:"bytes"`
		Entries       []entryV1         `json:"entries"`
	}
	v1 := manifestV1{SchemaVersion: 1, ID: m.ID, Created: m.Created, Reason: m.Reason, ToolVersion: m.ToolVersion, Root: m.Root,
		Meta: m.Meta, Exclude: m.Exclude, Compression: m.Compression, Archive: m.Archive, ArchiveSize: m.ArchiveSize, Files: m.Files, Bytes: m.Bytes}
	for _, e := range entries {
		v1.Entries = append(v1.Entries, entryV1{Path: e.Path, Type: e.Type, Mode: e.Mode, Size: e.Size, MTime: e.MTime, Link: e.Link, Hash: e.Hash, UID: e.UID, GID: e.GID})
	}
	m.Entries = len(entries)
	require.NoError(t, durable.WriteJSON(filepath.Join(dir, manifestName), v1, 0o600))
}

// writeManifestV2 writes entries and a manifest as Create does.
func writeManifestV2(t testing.TB, dir string, m *Manifest, entries []Entry) {
	t.Helper()
	p := filepath.Join(dir, entriesName)
	_ = os.Remove(p)
	ew, err := newEntriesWriter(p)
	require.NoError(t, err)
	for i := range entries {
		require.NoError(t, ew.add(&entries[i]))
	}
	m.list, err = ew.finish(true)
	require.NoError(t, err)
	if m.Storage != storagePacks {
		m.SchemaVersion = schemaV2
	}
	m.Entries = len(entries)
	require.NoError(t, writeManifestFile(filepath.Join(dir, manifestName), m))
}

// entriesOf reads a snapshot's entries.
func entriesOf(t testing.TB, s *Store, id string) []Entry {
	t.Helper()
	var out []Entry
	require.NoError(t, s.Entries(id, func(e *Entry) error {
		out = append(out, *e)
		return nil
	}))
	return out
}

func trimDir(name string) string {
	if name == "./" {
		return "."
	}
	if len(name) > 1 && name[len(name)-1] == '/' {
		return name[:len(name)-1]
	}
	return name
}

func TestMaliciousArchivesAreRefused(t *testing.T) {
	t.Parallel()
	root := craftEntry{hdr: tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755}}
	dir := func(n string) craftEntry {
		return craftEntry{hdr: tar.Header{Name: n + "/", Typeflag: tar.TypeDir, Mode: 0o755}}
	}
	file := func(n string) craftEntry {
		return craftEntry{hdr: tar.Header{Name: n, Typeflag: tar.TypeReg}, content: "pwned"}
	}
	link := func(n, to string) craftEntry {
		return craftEntry{hdr: tar.Header{Name: n, Typeflag: tar.TypeSymlink, Linkname: to, Mode: 0o777}}
	}
	tests := []struct {
		name  string
		items func(outside string) []craftEntry
	}{
		{"absolute path", func(o string) []craftEntry { return []craftEntry{root, file(o + "/abs")} }},
		{"dot-dot path", func(o string) []craftEntry { return []craftEntry{root, file("../outside/dotdot")} }},
		{"dot-dot inside a path", func(o string) []craftEntry { return []craftEntry{root, dir("a"), file("a/../../outside/x")} }},
		{"write through a symlink", func(o string) []craftEntry {
			return []craftEntry{root, dir("sub"), link("sub/lnk", ".."), file("sub/lnk/through")}
		}},
		{"write through an escaping symlink", func(o string) []craftEntry {
			return []craftEntry{root, link("evil", o), file("evil/pwned")}
		}},
		{"write through an escaping relative symlink", func(o string) []craftEntry {
			return []craftEntry{root, link("evil", "../outside"), file("evil/pwned")}
		}},
		{"directory through an escaping symlink", func(o string) []craftEntry {
			return []craftEntry{root, link("evil", o), dir("evil/sub"), file("evil/sub/pwned")}
		}},
		{"a link then a directory of the same name", func(o string) []craftEntry {
			return []craftEntry{root, link("evil", o), dir("evil"), file("evil/pwned")}
		}},
		{"symlink through a symlink", func(o string) []craftEntry {
			return []craftEntry{root, link("evil", o), link("evil/victim", "/etc/passwd")}
		}},
		{"hard link through an escaping symlink", func(o string) []craftEntry {
			return []craftEntry{root, link("evil", o), {hdr: tar.Header{Name: "hl", Typeflag: tar.TypeLink, Linkname: "evil/victim"}}}
		}},
		{"hard link to a symlink", func(o string) []craftEntry {
			return []craftEntry{root, link("evil", o+"/victim"), {hdr: tar.Header{Name: "hl", Typeflag: tar.TypeLink, Linkname: "evil"}}}
		}},
		{"device file", func(o string) []craftEntry {
			return []craftEntry{root, {hdr: tar.Header{Name: "null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}}}
		}},
		{"fifo", func(o string) []craftEntry {
			return []craftEntry{root, {hdr: tar.Header{Name: "fifo", Typeflag: tar.TypeFifo}}}
		}},
		{"hard link out of the tree", func(o string) []craftEntry {
			return []craftEntry{root, {hdr: tar.Header{Name: "hl", Typeflag: tar.TypeLink, Linkname: "../outside/victim"}}}
		}},
		{"archive disagrees with a safe manifest", func(o string) []craftEntry {
			safe := Entry{Path: "safe", Type: TypeFile, Mode: 0o644, Size: 5, MTime: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
				Hash: hex.EncodeToString(func() []byte { s := sha256.Sum256([]byte("pwned")); return s[:] }())}
			e := file("../outside/sneaky")
			e.entry = &safe
			return []craftEntry{root, e}
		}},
	}
	for _, format := range []int{schemaV1, schemaV2, ManifestSchema} {
		for _, tc := range tests {
			if format == ManifestSchema && tc.name == "archive disagrees with a safe manifest" {
				continue // format 3 has no archive besides the entries
			}
			t.Run(fmt.Sprintf("format %d/%s", format, tc.name), func(t *testing.T) {
				t.Parallel()
				maliciousCase(t, format, tc.name, tc.items)
			})
		}
	}
}

func maliciousCase(t *testing.T, format int, name string, items func(outside string) []craftEntry) {
	s, _ := openTestStore(t)
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	require.NoError(t, os.MkdirAll(outside, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "victim"), []byte("precious"), 0o644))
	target := filepath.Join(base, "pack")
	require.NoError(t, os.MkdirAll(filepath.Join(target, "keep"), 0o755))
	// The parent's own mtime moves when a staging directory comes
	// and goes beside the target; everything in it must not.
	describeBelow := func() map[string]string {
		d := describe(t, base)
		delete(d, ".")
		return d
	}
	before := describeBelow()

	m, _ := craftFormat(t, s, "20240101T000000Z-evil", items(outside), format)
	_, err := s.Verify(context.Background(), m.ID, nil)
	var ce *CorruptError
	require.ErrorAs(t, err, &ce, "verify must refuse: %v", err)
	_, err = s.Restore(context.Background(), m.ID, target, RestoreOptions{})
	require.ErrorAs(t, err, &ce, "restore must refuse: %v", err)
	if name != "archive disagrees with a safe manifest" && name != "a link then a directory of the same name" {
		var ue *UnsafeEntryError
		assert.ErrorAs(t, err, &ue, "%v", err)
	}
	assert.Equal(t, before, describeBelow(), "nothing changed outside staging, and staging is gone")
	_, err = s.Restore(context.Background(), m.ID, filepath.Join(base, "fresh"), RestoreOptions{})
	require.Error(t, err)
	assert.Equal(t, before, describeBelow())
}

// Not parallel: it sets the package's test hook.
func TestCreateFailsWhenAFileChangesWhileRead(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(path string) error
		want   string
	}{
		{"appended", func(p string) error {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			_, err = f.WriteString("more")
			return errors.Join(err, f.Close())
		}, "size"},
		{"rewritten in place", func(p string) error {
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			_, err = f.WriteAt([]byte("X"), 10)
			return errors.Join(err, f.Close())
		}, "time"},
		{"replaced", func(p string) error {
			if err := os.WriteFile(p+".new", []byte("other"), 0o644); err != nil {
				return err
			}
			// The open file lost its last name: its status change time moved.
			return os.Rename(p+".new", p)
		}, "status change"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTestStore(t)
			root := filepath.Join(t.TempDir(), "pack")
			makeTree(t, root)
			victim := filepath.Join(root, "lib/noise.bin")
			testHook = func(point, path string) {
				if point == "create:read" && path == "lib/noise.bin" {
					require.NoError(t, tc.change(victim))
				}
			}
			defer func() { testHook = func(string, string) {} }()
			_, err := s.Create(context.Background(), root, CreateOptions{})
			var ce *ChangedError
			require.ErrorAs(t, err, &ce, "%v", err)
			assert.Equal(t, "lib/noise.bin", ce.Path)
			assert.Contains(t, ce.What, tc.want)
			list, _ := s.List()
			assert.Empty(t, list)
			left, _ := filepath.Glob(filepath.Join(s.Dir(), ".tmp-*"))
			assert.Empty(t, left, "the partial snapshot was removed")
		})
	}
}
