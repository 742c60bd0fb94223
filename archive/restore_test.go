package archive

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoundTripBitForBit(t *testing.T) {
	t.Parallel()
	for _, comp := range []string{CompressionZstd, CompressionGzip} {
		t.Run(comp, func(t *testing.T) {
			t.Parallel()
			s, state := openTestStore(t)
			root := filepath.Join(t.TempDir(), "pack")
			makeTree(t, root)
			want := describe(t, root)
			m := createSnap(t, s, root, CreateOptions{Compression: comp})

			// Into a fresh location, then over a changed live tree.
			fresh := filepath.Join(t.TempDir(), "restored")
			rep, err := s.Restore(context.Background(), m.ID, fresh, RestoreOptions{})
			require.NoError(t, err)
			assert.Empty(t, rep.Displaced)
			assert.Equal(t, want, describe(t, fresh))

			require.NoError(t, os.Chmod(filepath.Join(root, "conf"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(root, "conf/deployment.toml"), []byte("changed"), 0o600))
			require.NoError(t, os.RemoveAll(filepath.Join(root, "lib")))
			require.NoError(t, os.WriteFile(filepath.Join(root, "new-file"), []byte("x"), 0o600))
			rep, err = s.Restore(context.Background(), m.ID, root, RestoreOptions{KeepDisplaced: true})
			require.NoError(t, err)
			assert.Equal(t, want, describe(t, root))
			require.NotEmpty(t, rep.Displaced)
			data, err := os.ReadFile(filepath.Join(rep.Displaced, "new-file"))
			require.NoError(t, err)
			assert.Equal(t, "x", string(data))
			_, err = os.Stat(filepath.Join(state, "restore.json"))
			assert.ErrorIs(t, err, os.ErrNotExist)
			_, err = os.Stat(filepath.Join(filepath.Dir(root), ".pack.restore-"+m.ID))
			assert.ErrorIs(t, err, os.ErrNotExist, "staging is gone")

			dropped, err := s.DropDisplaced(root)
			require.NoError(t, err)
			assert.Equal(t, []string{rep.Displaced}, dropped)
		})
	}
}

func TestRestoreSubsetAndKeep(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	root := filepath.Join(t.TempDir(), "pack")
	makeTree(t, root)
	require.NoError(t, os.MkdirAll(filepath.Join(root, "repository/database"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "repository/database/db.mv.db"), []byte("snapshot-time data"), 0o644))
	snap := describe(t, root)
	m := createSnap(t, s, root, CreateOptions{})

	// Live changes: code, config and data.
	require.NoError(t, os.Chmod(filepath.Join(root, "conf"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "conf/deployment.toml"), []byte("broken"), 0o640))
	require.NoError(t, os.WriteFile(filepath.Join(root, "bin/server.sh"), []byte("updated"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "repository/database/db.mv.db"), []byte("newer data"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "repository/logs"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "repository/logs/wso2carbon.log"), []byte("log"), 0o644))

	t.Run("paths", func(t *testing.T) {
		rep, err := s.Restore(context.Background(), m.ID, root, RestoreOptions{Paths: []string{"conf", "conf/deployment.toml"}, KeepDisplaced: true})
		require.NoError(t, err)
		got := describe(t, root)
		for p, d := range snap {
			if under(p, "conf") {
				// A hard link to a file outside the paths comes back as
				// a file of its own: same content, mode and time.
				d, _, _ = strings.Cut(d, " nlink=")
				g, _, _ := strings.Cut(got[p], " nlink=")
				assert.Equal(t, d, g, p)
			}
		}
		data, _ := os.ReadFile(filepath.Join(root, "bin/server.sh"))
		assert.Equal(t, "updated", string(data), "outside the paths nothing changed")
		data, _ = os.ReadFile(filepath.Join(rep.Displaced, "conf/deployment.toml"))
		assert.Equal(t, "broken", string(data), "the replaced path is kept displaced")

		_, err = s.Restore(context.Background(), m.ID, root, RestoreOptions{Paths: []string{"no/such"}})
		var ue *UsageError
		require.ErrorAs(t, err, &ue)
	})
	t.Run("keep", func(t *testing.T) {
		rep, err := s.Restore(context.Background(), m.ID, root, RestoreOptions{Keep: []string{"repository/database", "repository/logs", "solr/data"}})
		require.NoError(t, err)
		assert.Equal(t, []string{"repository/database", "repository/logs"}, rep.Kept)
		data, _ := os.ReadFile(filepath.Join(root, "repository/database/db.mv.db"))
		assert.Equal(t, "newer data", string(data))
		data, _ = os.ReadFile(filepath.Join(root, "repository/logs/wso2carbon.log"))
		assert.Equal(t, "log", string(data))
		data, _ = os.ReadFile(filepath.Join(root, "bin/server.sh"))
		assert.Equal(t, "#!/bin/sh\necho hi\n", string(data), "code restored")
		got := describe(t, root)
		for p, d := range snap {
			if !under(p, "repository") {
				assert.Equal(t, d, got[p], p)
			}
		}
	})
}

// Paths excluded when the snapshot was made are not the snapshot's to
// replace: a whole restore carries the live ones over (a snapshot that skips
// repository/logs must not drop the live logs on a rollback).
func TestRestoreCarriesExcludedPathsOver(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	root := filepath.Join(t.TempDir(), "pack")
	makeTree(t, root)
	require.NoError(t, os.MkdirAll(filepath.Join(root, "repository/logs"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "repository/logs/wso2carbon.log"), []byte("before"), 0o644))
	m := createSnap(t, s, root, CreateOptions{Exclude: []string{"repository/logs"}})

	require.NoError(t, os.WriteFile(filepath.Join(root, "repository/logs/wso2carbon.log"), []byte("before\nthe failed boot"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "bin/server.sh"), []byte("updated"), 0o755))

	rep, err := s.Restore(context.Background(), m.ID, root, RestoreOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"repository/logs"}, rep.Kept)
	data, err := os.ReadFile(filepath.Join(root, "repository/logs/wso2carbon.log"))
	require.NoError(t, err)
	assert.Equal(t, "before\nthe failed boot", string(data), "the live logs are still in the pack")
	data, _ = os.ReadFile(filepath.Join(root, "bin/server.sh"))
	assert.Equal(t, "#!/bin/sh\necho hi\n", string(data), "everything else is the snapshot's")
}

func TestRestoreRefusesManifestExcludeOutsideTheTree(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "pack")
	makeTree(t, root)
	for _, bad := range []string{"../outside", "/etc", "a/../../b"} {
		m := &Manifest{ID: "x", Exclude: []string{bad}, Entries: 1}
		_, err := planRestore(t.TempDir(), m, root, RestoreOptions{})
		var ce *CorruptError
		require.ErrorAs(t, err, &ce, bad)
		assert.Equal(t, "exclude", ce.Field)
	}
}
