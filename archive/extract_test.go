package archive

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExtractCopy: Extract lays a snapshot down as a new tree, bit for bit,
// without the restore lock or record (a restore of the live tree can run
// at the same time), and refuses a target that exists.
func TestExtractCopy(t *testing.T) {
	t.Parallel()
	s, state := openTestStore(t)
	root := filepath.Join(t.TempDir(), "pack")
	makeTree(t, root)
	want := describe(t, root)
	m := createSnap(t, s, root, CreateOptions{})

	unlock, err := s.lockRestore() // a restore of the live tree holds the lock
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "copy")
	rep, err := s.Extract(context.Background(), m.ID, dir, ExtractOptions{})
	unlock()
	require.NoError(t, err)
	assert.Equal(t, dir, rep.Target)
	assert.Equal(t, m.Entries, rep.Entries)
	assert.Equal(t, want, describe(t, dir))
	_, err = os.Stat(filepath.Join(state, "restore.json"))
	assert.ErrorIs(t, err, os.ErrNotExist, "no restore record")

	d, err := s.DiffLive(context.Background(), m.ID, dir)
	require.NoError(t, err)
	assert.Empty(t, d.Added)
	assert.Empty(t, d.Removed)
	assert.Empty(t, d.Changed)

	_, err = s.Extract(context.Background(), m.ID, dir, ExtractOptions{})
	var ue *UsageError
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, err.Error(), "already exists")
	assert.Equal(t, want, describe(t, dir), "the existing tree is left alone")
}

// TestExtractRefusesDamage: a corrupt archive is refused while it is laid
// down, and the partial copy is removed.
func TestExtractRefusesDamage(t *testing.T) {
	t.Parallel()
	s, _, m, a := damaged(t, "")
	data, err := os.ReadFile(a)
	require.NoError(t, err)
	data[len(data)/2] ^= 0x01
	require.NoError(t, os.WriteFile(a, data, 0o600))

	dir := filepath.Join(t.TempDir(), "copy")
	_, err = s.Extract(context.Background(), m.ID, dir, ExtractOptions{NoSync: true})
	require.Error(t, err)
	var ce *CorruptError
	assert.ErrorAs(t, err, &ce)
	_, err = os.Lstat(dir)
	assert.ErrorIs(t, err, os.ErrNotExist, "the partial copy is removed")
}
