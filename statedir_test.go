package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStateDirWritableByOthersIsRefused(t *testing.T) {
	mk := func(t *testing.T, path string, mode os.FileMode) string {
		require.NoError(t, os.MkdirAll(path, 0o700))
		require.NoError(t, os.Chmod(path, mode))
		return path
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, root string) string // returns the state directory
		bad   string                                 // "" = accepted; else the directory named at fault, relative to root
	}{
		{"private", func(t *testing.T, root string) string { return mk(t, filepath.Join(root, "state"), 0o700) }, ""},
		{"readable by all", func(t *testing.T, root string) string { return mk(t, filepath.Join(root, "state"), 0o755) }, ""},
		{"not created yet", func(t *testing.T, root string) string { return filepath.Join(root, "a", "b", "state") }, ""},
		{"world-writable", func(t *testing.T, root string) string { return mk(t, filepath.Join(root, "state"), 0o777) }, "state"},
		{"group-writable", func(t *testing.T, root string) string { return mk(t, filepath.Join(root, "state"), 0o770) }, "state"},
		{"under a world-writable parent", func(t *testing.T, root string) string {
			mk(t, filepath.Join(root, "shared"), 0o777)
			return mk(t, filepath.Join(root, "shared", "state"), 0o700)
		}, "shared"},
		{"not created yet, under a world-writable parent", func(t *testing.T, root string) string {
			mk(t, filepath.Join(root, "shared"), 0o777)
			return filepath.Join(root, "shared", "x", "state")
		}, "shared"},
		{"under a sticky world-writable parent (as /tmp)", func(t *testing.T, root string) string {
			mk(t, filepath.Join(root, "tmp"), os.ModeSticky|0o777)
			return mk(t, filepath.Join(root, "tmp", "state"), 0o700)
		}, ""},
		{"a link to a world-writable directory", func(t *testing.T, root string) string {
			target := mk(t, filepath.Join(root, "target"), 0o777)
			require.NoError(t, os.Symlink(target, filepath.Join(root, "link")))
			return filepath.Join(root, "link")
		}, "target"},
		{"a file", func(t *testing.T, root string) string {
			p := filepath.Join(root, "state")
			require.NoError(t, os.WriteFile(p, nil, 0o600))
			return p
		}, "state"},
	}
	if os.Geteuid() == 0 {
		tests = append(tests, struct {
			name  string
			setup func(t *testing.T, root string) string
			bad   string
		}{"under a parent that belongs to someone else", func(t *testing.T, root string) string {
			other := mk(t, filepath.Join(root, "other"), 0o755)
			require.NoError(t, os.Chown(other, 54321, 54321))
			return mk(t, filepath.Join(other, "state"), 0o700)
		}, "other"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			dir := tt.setup(t, root)
			err := checkStateDir(dir)
			if tt.bad == "" {
				require.NoError(t, err)
				return
			}
			var ue *unsafeStateError
			require.ErrorAs(t, err, &ue)
			assert.Equal(t, filepath.Join(root, tt.bad), ue.Path)
			assert.Equal(t, exitUsage, classify(err))
			assert.Contains(t, hint(err), ue.Path, "the hint names the directory to fix")
		})
	}
}
