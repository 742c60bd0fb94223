package archive

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func paths(cs []Change) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.Path)
	}
	return out
}

func TestDiffSnapshotsAndLive(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	root := filepath.Join(t.TempDir(), "pack")
	makeTree(t, root)
	require.NoError(t, os.MkdirAll(filepath.Join(root, "logs"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "logs/carbon.log"), []byte("x"), 0o644))
	a := createSnap(t, s, root, CreateOptions{Exclude: []string{"logs"}})

	d, err := s.DiffLive(context.Background(), a.ID, root)
	require.NoError(t, err)
	assert.Empty(t, d.Added, "excluded contents do not show up as added")
	assert.Empty(t, d.Removed)
	assert.Empty(t, d.Changed)

	// An "update": a jar replaced, a config edited, a file removed, a mode
	// changed, a symlink retargeted; a touch alone is no change.
	require.NoError(t, os.Chmod(filepath.Join(root, "conf"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "conf/deployment.toml"), []byte("[server]\nhostname = \"edited\"\n"), 0o640))
	require.NoError(t, os.Chmod(filepath.Join(root, "conf"), 0o555))
	require.NoError(t, os.Remove(filepath.Join(root, "lib/noise.bin")))
	require.NoError(t, os.WriteFile(filepath.Join(root, "lib/new_1.0.1.jar"), []byte("PK"), 0o644))
	require.NoError(t, os.Chmod(filepath.Join(root, "bin/server.sh"), 0o700))
	require.NoError(t, os.Remove(filepath.Join(root, "dangling")))
	require.NoError(t, os.Symlink("elsewhere", filepath.Join(root, "dangling")))
	require.NoError(t, os.Chtimes(filepath.Join(root, "empty-file"), a.Created, a.Created))

	d, err = s.DiffLive(context.Background(), a.ID, root)
	require.NoError(t, err)
	assert.Equal(t, []string{"lib/new_1.0.1.jar"}, paths(d.Added))
	assert.Equal(t, []string{"lib/noise.bin"}, paths(d.Removed))
	assert.Equal(t, []string{"bin/server.sh", "conf/deployment.toml", "dangling"}, paths(d.Changed))
	what := map[string][]string{}
	for _, c := range d.Changed {
		what[c.Path] = c.What
	}
	assert.Equal(t, []string{"mode"}, what["bin/server.sh"])
	assert.Equal(t, []string{"content"}, what["conf/deployment.toml"])
	assert.Equal(t, []string{"link"}, what["dangling"])

	b := createSnap(t, s, root, CreateOptions{Exclude: []string{"logs"}})
	d2, err := s.Diff(context.Background(), a.ID, b.ID)
	require.NoError(t, err)
	assert.Equal(t, paths(d.Added), paths(d2.Added))
	assert.Equal(t, paths(d.Removed), paths(d2.Removed))
	assert.Equal(t, paths(d.Changed), paths(d2.Changed))

	_, err = s.Diff(context.Background(), a.ID, "nope")
	var nf *NotFoundError
	require.ErrorAs(t, err, &nf)
}
