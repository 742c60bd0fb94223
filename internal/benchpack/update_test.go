package benchpack

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUpdate(t *testing.T) {
	dir := t.TempDir()
	// A small tree of Generate's shape (Generate itself is slow under -race).
	for i := range 40 {
		p := filepath.Join(dir, "repository/components/plugins", fmt.Sprintf("org.wso2.carbon.bench.module%04d_4.2.%d.jar", i, i%7))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, make([]byte, 40<<10), 0o644))
	}
	for i := range 8 {
		p := filepath.Join(dir, "repository/deployment/server/synapse-configs/default/api", fmt.Sprintf("api%04d.xml", i))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("<api>\n</api>\n"), 0o644))
	}
	before, err := filepath.Glob(filepath.Join(dir, "repository/components/*/*.jar"))
	require.NoError(t, err)
	rep, err := Update(dir, 77)
	require.NoError(t, err)
	assert.Equal(t, 30, rep.Jars)
	assert.Equal(t, 5, rep.XML)
	after, err := filepath.Glob(filepath.Join(dir, "repository/components/*/*.jar"))
	require.NoError(t, err)
	assert.Equal(t, len(before), len(after), "each replaced jar is removed")
	updated, err := filepath.Glob(filepath.Join(dir, "repository/components/*/*.77.jar"))
	require.NoError(t, err)
	assert.Len(t, updated, 30)
	st, err := os.Stat(updated[0])
	require.NoError(t, err)
	assert.Greater(t, st.Size(), int64(20<<10))
	b, err := os.ReadFile(filepath.Join(dir, "repository/deployment/server/synapse-configs/default/api/api0000.xml"))
	require.NoError(t, err)
	assert.Contains(t, string(b), "/update/77")
}
