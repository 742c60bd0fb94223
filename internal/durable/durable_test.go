package durable

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteFileReplacesAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	require.NoError(t, WriteFile(path, []byte("one"), 0o600))
	require.NoError(t, WriteFile(path, []byte("two"), 0o640))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "two", string(data))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file may be left behind")
}

func TestWriteFileFailureKeepsOldContent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	require.NoError(t, WriteFile(path, []byte("old"), 0o600))
	// A directory where the file should be: the rename fails.
	target := filepath.Join(dir, "sub")
	require.NoError(t, os.MkdirAll(filepath.Join(target, "x"), 0o700))
	require.Error(t, WriteFile(target, []byte("new"), 0o600))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "the failed write removed its temporary file")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "old", string(data))
}

func TestWriteJSONAndMkdirAll(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "c")
	require.NoError(t, MkdirAll(dir, 0o700))
	require.NoError(t, WriteJSON(filepath.Join(dir, "v.json"), map[string]int{"level": 14}, 0o600))
	data, err := os.ReadFile(filepath.Join(dir, "v.json"))
	require.NoError(t, err)
	assert.Equal(t, "{\n  \"level\": 14\n}\n", string(data))
	require.NoError(t, MkdirAll(dir, 0o700), "an existing directory is fine")
	require.Error(t, WriteFile(filepath.Join(t.TempDir(), "missing", "f"), nil, 0o600))
}
