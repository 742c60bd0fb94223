package archive

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withoutOwners drops uid= and gid= from describe's lines (the format-1
// fixture was written as root; a restore as another user keeps its own).
func withoutOwners(d map[string]string) map[string]string {
	re := regexp.MustCompile(` uid=\d+ gid=\d+`)
	out := map[string]string{}
	for k, v := range d {
		out[k] = re.ReplaceAllString(v, "")
	}
	return out
}

// copyDir copies a fixture directory (regular files and directories).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o600)
	}))
}

// Snapshots of format 1 (entries inline in manifest.json, written by the
// archive package before the streamed manifest) stay readable: list, show,
// entries, verify, diff and restore, bit for bit.
func TestFormat1SnapshotsStayReadable(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	copyDir(t, "testdata/format1/snapshots", filepath.Join(state, "snapshots"))
	s, err := OpenStore(filepath.Join(state, "snapshots"), zerolog.Nop())
	require.NoError(t, err)
	var want map[string]string
	data, err := os.ReadFile("testdata/format1/tree.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &want))

	list, err := s.List()
	require.NoError(t, err)
	require.Len(t, list, 2)
	ids := []string{list[0].ID, list[1].ID}
	for i, comp := range []string{CompressionZstd, CompressionGzip} {
		in := list[i]
		assert.False(t, in.Incomplete, in.Problem)
		assert.Equal(t, 21, in.Entries)
		assert.Equal(t, comp, in.Compression)
		m, err := s.Show(in.ID)
		require.NoError(t, err)
		assert.Equal(t, schemaV1, m.SchemaVersion)
		assert.Equal(t, []string{"repository/logs"}, m.Exclude)
		assert.Equal(t, 9, m.Files)
		entries := entriesOf(t, s, in.ID)
		require.Len(t, entries, 21)
		assert.Equal(t, ".", entries[0].Path)

		rep, err := s.Verify(context.Background(), in.ID, nil)
		require.NoError(t, err)
		assert.Equal(t, 21, rep.Entries)

		fresh := filepath.Join(t.TempDir(), "restored")
		_, err = s.Restore(context.Background(), in.ID, fresh, RestoreOptions{})
		require.NoError(t, err)
		assert.Equal(t, want, withoutOwners(describe(t, fresh)), comp)
	}
	d, err := s.Diff(context.Background(), ids[0], ids[1])
	require.NoError(t, err)
	assert.Empty(t, d.Added)
	assert.Empty(t, d.Removed)
	assert.Empty(t, d.Changed)

	// Over a live tree: the excluded logs are carried over, and a snapshot
	// of the result in today's format diffs clean against the old one.
	live := filepath.Join(t.TempDir(), "pack")
	_, err = s.Restore(context.Background(), ids[0], live, RestoreOptions{})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(live, "repository/logs/new.log"), []byte("live"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(live, "bin/server.sh"), []byte("updated"), 0o755))
	_, err = s.Restore(context.Background(), ids[1], live, RestoreOptions{})
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(live, "repository/logs/new.log"))
	require.NoError(t, err)
	assert.Equal(t, "live", string(got))
	m2 := createSnap(t, s, live, CreateOptions{Exclude: []string{"repository/logs"}})
	assert.Equal(t, ManifestSchema, m2.SchemaVersion)
	d, err = s.Diff(context.Background(), ids[0], m2.ID)
	require.NoError(t, err)
	assert.Empty(t, d.Added)
	assert.Empty(t, d.Removed)
	assert.Empty(t, d.Changed)
	d, err = s.DiffLive(context.Background(), ids[1], live)
	require.NoError(t, err)
	assert.Empty(t, d.Changed)
}

// Snapshots of format 2 (streamed entry list, one tar per snapshot: the
// format before the shared content store) stay readable, gzip and zstd.
func TestFormat2SnapshotsStayReadable(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	copyDir(t, "testdata/format2/snapshots", filepath.Join(state, "snapshots"))
	s, err := OpenStore(filepath.Join(state, "snapshots"), zerolog.Nop())
	require.NoError(t, err)
	data, err := os.ReadFile("testdata/format2/tree.txt")
	require.NoError(t, err)
	want := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		q, rest, err := strconvQuotedPrefix(line)
		require.NoError(t, err, line)
		want[q] = strings.TrimPrefix(rest, " ")
	}
	require.Contains(t, want, "conf/latin1-caf\xe9.txt")

	list, err := s.List()
	require.NoError(t, err)
	require.Len(t, list, 2)
	for i, comp := range []string{CompressionZstd, CompressionGzip} {
		in := list[i]
		assert.False(t, in.Incomplete, in.Problem)
		assert.Equal(t, comp, in.Compression)
		m, err := s.Show(in.ID)
		require.NoError(t, err)
		assert.Equal(t, schemaV2, m.SchemaVersion)
		_, err = s.Verify(context.Background(), in.ID, nil)
		require.NoError(t, err)
		fresh := filepath.Join(t.TempDir(), "restored")
		_, err = s.Restore(context.Background(), in.ID, fresh, RestoreOptions{})
		require.NoError(t, err)
		assert.Equal(t, want, withoutOwners(describe(t, fresh)), comp)

		// A snapshot of the restored tree in today's format diffs clean
		// against it, and the same tar streams out of both.
		m3 := createSnap(t, s, fresh, CreateOptions{Exclude: []string{"repository/logs"}})
		d, err := s.Diff(context.Background(), in.ID, m3.ID)
		require.NoError(t, err)
		assert.Empty(t, d.Added)
		assert.Empty(t, d.Removed)
		assert.Empty(t, d.Changed)
	}
	var a, b bytes.Buffer
	_, err = s.ExportTar(context.Background(), list[0].ID, &a)
	require.NoError(t, err)
	_, err = s.ExportTar(context.Background(), list[1].ID, &b)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(a.Bytes(), b.Bytes()), "zstd and gzip snapshots of one tree hold the same tar")
}

// strconvQuotedPrefix splits a line starting with a Go-quoted string.
func strconvQuotedPrefix(line string) (string, string, error) {
	q, err := strconv.QuotedPrefix(line)
	if err != nil {
		return "", "", err
	}
	s, err := strconv.Unquote(q)
	return s, line[len(q):], err
}
