package benchpack

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUpdate(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, Generate(dir, 0.04))
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
	assert.Greater(t, st.Size(), int64(50<<10))
}
