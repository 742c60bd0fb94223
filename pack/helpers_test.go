package pack

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/internal/testpack"
)

// fixture returns the path of a fixture pack under testdata/packs.
func fixture(name string) string {
	return filepath.Join("..", "testdata", "packs", name)
}

// copyFixture copies a fixture pack into a temporary directory so a test
// can change it.
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	require.NoError(t, testpack.CopyTree(fixture(name), dst))
	return dst
}

// writeFile writes a file of a test pack, creating its directory.
func writeFile(t *testing.T, home, rel, content string) {
	t.Helper()
	p := filepath.Join(home, filepath.FromSlash(rel))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}

// tomlPack makes a minimal APIM 4.2 pack holding the given deployment.toml.
func tomlPack(t *testing.T, toml string) string {
	t.Helper()
	home := t.TempDir()
	writeFile(t, home, "updates/product.txt", "wso2am-4.2.0\n")
	writeFile(t, home, "repository/conf/deployment.toml", toml)
	return home
}
