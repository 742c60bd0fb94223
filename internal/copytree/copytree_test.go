package copytree

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func tree(t *testing.T) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "bin"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "bin", "run.sh"), []byte("#!/bin/sh\n"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "conf.toml"), []byte("a = 1\n"), 0o640))
	require.NoError(t, os.Symlink("/etc/hostname", filepath.Join(src, "abs-link")))
	require.NoError(t, os.Symlink("bin/run.sh", filepath.Join(src, "rel-link")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(src, "fifo"), 0o644))
	return src
}

func TestCopyKeepsModesAndLinksAndSkipsSpecialFiles(t *testing.T) {
	src := tree(t)
	dst := filepath.Join(t.TempDir(), "dst")
	require.NoError(t, Copy(src, dst, Options{}))
	st, err := os.Stat(filepath.Join(dst, "bin", "run.sh"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), st.Mode().Perm())
	st, err = os.Stat(filepath.Join(dst, "conf.toml"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), st.Mode().Perm())
	for link, to := range map[string]string{"abs-link": "/etc/hostname", "rel-link": "bin/run.sh"} {
		got, err := os.Readlink(filepath.Join(dst, link))
		require.NoError(t, err)
		assert.Equal(t, to, got, "a link is copied as a link, never followed")
	}
	assert.NoFileExists(t, filepath.Join(dst, "fifo"))

	// Copying again over the copy merges into it.
	require.NoError(t, Copy(src, dst, Options{}))
}

func TestCopyPrivate(t *testing.T) {
	src := tree(t)
	dst := filepath.Join(t.TempDir(), "evidence")
	require.NoError(t, Copy(src, dst, Options{Private: true, Sync: true}))
	for p, want := range map[string]os.FileMode{"bin": 0o700, "bin/run.sh": 0o600, "conf.toml": 0o600} {
		st, err := os.Stat(filepath.Join(dst, p))
		require.NoError(t, err)
		assert.Equal(t, want, st.Mode().Perm(), p)
	}
}
