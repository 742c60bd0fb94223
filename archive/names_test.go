package archive

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Names on Linux are bytes. Every byte string but NUL and "/" is a name.
var oddNames = []string{
	"caf\xe9.txt",            // Latin-1
	"\xff\xfe\xfd",           // no encoding at all
	"ctl\x01\x02\x1b[31mred", // control bytes, an escape sequence
	"new\nline",
	"tab\there",
	"quote\"back\\slash",
	"del\x7f",
	"ünïcödé ✓",
	"\u2028line-sep",
	"-leading-dash",
	" spaced ",
}

func TestNamesAreBytes(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	root := filepath.Join(t.TempDir(), "pack")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "dir\xe9", "sub\x01"), 0o755))
	for i, n := range oddNames {
		require.NoError(t, os.WriteFile(filepath.Join(root, "dir\xe9", n), []byte(strings.Repeat(n, i+1)), 0o644))
		require.NoError(t, os.Symlink(n, filepath.Join(root, "dir\xe9", "sub\x01", "to-"+n)))
	}
	require.NoError(t, os.Link(filepath.Join(root, "dir\xe9", "caf\xe9.txt"), filepath.Join(root, "hard\xe9")))
	require.NoError(t, os.Symlink("/var/log/caf\xe9\x01", filepath.Join(root, "abs\xe9")))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "logs\xe9"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "logs\xe9", "a.log"), []byte("live"), 0o644))
	want := describe(t, root)
	delete(want, "logs\xe9/a.log")

	m := createSnap(t, s, root, CreateOptions{Exclude: []string{"logs\xe9"}})
	entries := entriesOf(t, s, m.ID)
	got := map[string]bool{}
	for _, e := range entries {
		got[e.Path] = true
	}
	for _, n := range oddNames {
		assert.True(t, got["dir\xe9/"+n], "%q round-trips through the manifest", n)
	}
	show, err := s.Show(m.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"logs\xe9"}, show.Exclude)

	_, err = s.Verify(context.Background(), m.ID, nil)
	require.NoError(t, err, "a snapshot that was reported created must verify")
	fresh := filepath.Join(t.TempDir(), "restored")
	_, err = s.Restore(context.Background(), m.ID, fresh, RestoreOptions{})
	require.NoError(t, err)
	assert.Equal(t, want, describe(t, fresh))

	// Over the live tree, with the excluded directory carried over.
	require.NoError(t, os.WriteFile(filepath.Join(root, "dir\xe9", "caf\xe9.txt"), []byte("changed"), 0o644))
	d, err := s.DiffLive(context.Background(), m.ID, root)
	require.NoError(t, err)
	require.Len(t, d.Changed, 2) // both names of the inode
	assert.Equal(t, "dir\xe9/caf\xe9.txt", d.Changed[0].Path)
	rep, err := s.Restore(context.Background(), m.ID, root, RestoreOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"logs\xe9"}, rep.Kept)
	after := describe(t, root)
	assert.Contains(t, after, "logs\xe9/a.log")
	delete(after, "logs\xe9/a.log")
	delete(after, ".")
	delete(want, ".")
	assert.Equal(t, want, after)

	m2 := createSnap(t, s, root, CreateOptions{Exclude: []string{"logs\xe9"}})
	d, err = s.Diff(context.Background(), m.ID, m2.ID)
	require.NoError(t, err)
	assert.Empty(t, d.Added)
	assert.Empty(t, d.Removed)
	assert.Empty(t, d.Changed)
}

// The manifest writes a name that is not UTF-8 as its bytes in base64 and
// any other as a JSON string; both read back exactly.
func TestManifestNameEncoding(t *testing.T) {
	t.Parallel()
	for _, n := range append(oddNames, "", ".", "a/b", "\u00e9") {
		e := Entry{Path: n, Type: TypeSymlink, Link: n + "\xe9", Mode: 0o777}
		line, err := json.Marshal(e)
		require.NoError(t, err)
		assert.True(t, json.Valid(line), "%s", line)
		assert.NotContains(t, string(line), "\n")
		var back Entry
		require.NoError(t, json.Unmarshal(line, &back))
		assert.Equal(t, n, back.Path)
		assert.Equal(t, n+"\xe9", back.Link)
	}
	line, _ := json.Marshal(Entry{Path: "caf\xe9.txt", Type: TypeFile})
	assert.Contains(t, string(line), `"path":{"base64":"Y2Fm6S50eHQ="}`)
	line, _ = json.Marshal(Entry{Path: "café.txt", Type: TypeFile})
	assert.Contains(t, string(line), `"path":"café.txt"`)
}

// Messages quote names: control bytes, escape sequences and NULs never
// reach a terminal raw.
func TestMessagesQuoteNames(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	root := filepath.Join(t.TempDir(), "pack")
	require.NoError(t, os.MkdirAll(root, 0o755))
	require.NoError(t, unix.Mkfifo(filepath.Join(root, "evil\x1b[2J\x07"), 0o600))
	require.NoError(t, unix.Mkfifo(filepath.Join(root, "caf\xe9"), 0o600))
	_, err := s.Create(context.Background(), root, CreateOptions{})
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, `"evil\x1b[2J\a"`)
	assert.Contains(t, msg, `"caf\xe9"`)
	for _, b := range []byte{0x1b, 0x07, 0xe9, 0} {
		assert.NotContains(t, msg, string([]byte{b}))
	}
	for _, e := range []error{
		&CorruptError{ID: "x", Path: "a\x00b\x1b", Field: "sha256", Expected: "1", Got: "2"},
		&ChangedError{Path: "a\x1b[1m", What: "size"},
		&UnsafeEntryError{Path: "a\x1b", Reason: "r"},
		&UsageError{What: "restore path", Value: "a\x1b", Why: "w"},
	} {
		assert.NotContains(t, e.Error(), "\x1b", "%T", e)
		assert.NotContains(t, e.Error(), "\x00", "%T", e)
	}
}

func TestChangeJSONKeepsBytes(t *testing.T) {
	t.Parallel()
	c := Change{Path: "caf\xe9", Type: TypeFile, What: []string{"content"}}
	data, err := json.Marshal(c)
	require.NoError(t, err)
	assert.JSONEq(t, `{"path":{"base64":"Y2Fm6Q=="},"type":"file","what":["content"]}`, string(data))
	var back Change
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, c, back)
	data, _ = json.Marshal(Change{Path: "a/b", Type: TypeDir})
	assert.JSONEq(t, `{"path":"a/b","type":"dir"}`, string(data))
}
