package wrapper

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	require.NoError(t, err)
	_, err = f.WriteString(s)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func pollAll(t *testing.T, lt *LogTail) []string {
	t.Helper()
	var got []string
	require.NoError(t, lt.Poll(func(l string) { got = append(got, l) }))
	return got
}

func TestLogTailReadsOnlyNewLines(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "wso2carbon.log")
	appendFile(t, path, "old 1\nold 2\n")
	lt, err := NewLogTail(path)
	require.NoError(t, err)
	defer lt.Close()
	assert.True(t, lt.StartExisted)
	assert.EqualValues(t, 12, lt.StartSize)

	assert.Empty(t, pollAll(t, lt))
	appendFile(t, path, "new 1\r\nnew 2\npart")
	assert.Equal(t, []string{"new 1", "new 2"}, pollAll(t, lt))
	appendFile(t, path, "ial\n")
	assert.Equal(t, []string{"partial"}, pollAll(t, lt))
	assert.Empty(t, pollAll(t, lt))
	assert.Equal(t, 0, lt.Rotations())
}

func TestLogTailMissingFileAppears(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "wso2carbon.log")
	lt, err := NewLogTail(path)
	require.NoError(t, err)
	defer lt.Close()
	assert.False(t, lt.StartExisted)
	assert.Empty(t, pollAll(t, lt))
	appendFile(t, path, "first\n")
	assert.Equal(t, []string{"first"}, pollAll(t, lt))
}

func TestLogTailFollowsRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "wso2carbon.log")
	appendFile(t, path, "before start\n")
	lt, err := NewLogTail(path)
	require.NoError(t, err)
	defer lt.Close()

	// Lines written to the old file after the last poll, then a
	// log4j2-style rename and a new file: both the tail of the old file
	// (including an unterminated last line) and the new file are read, in
	// order.
	appendFile(t, path, "a\nb-unterminated")
	require.NoError(t, os.Rename(path, filepath.Join(dir, "wso2carbon-2024-05-01.log")))
	assert.Equal(t, []string{"a"}, pollAll(t, lt), "rotated away, not recreated yet: the old file is drained")
	appendFile(t, path, "c\n")
	assert.Equal(t, []string{"b-unterminated", "c"}, pollAll(t, lt))
	assert.Equal(t, 1, lt.Rotations())
	appendFile(t, path, "d\n")
	assert.Equal(t, []string{"d"}, pollAll(t, lt))
}

func TestLogTailFollowsTruncation(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "wso2carbon.log")
	appendFile(t, path, strings.Repeat("x", 100)+"\n")
	lt, err := NewLogTail(path)
	require.NoError(t, err)
	defer lt.Close()
	require.NoError(t, os.Truncate(path, 0)) // copytruncate
	appendFile(t, path, "after\n")
	assert.Equal(t, []string{"after"}, pollAll(t, lt))
	assert.Equal(t, 1, lt.Rotations())
}

func TestLogTailSplitsRunawayLine(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "wso2carbon.log")
	lt, err := NewLogTail(path)
	require.NoError(t, err)
	defer lt.Close()
	appendFile(t, path, strings.Repeat("y", maxLineBytes+10)+"\n")
	got := pollAll(t, lt)
	require.Len(t, got, 2)
	assert.Len(t, got[0], maxLineBytes)
	assert.Equal(t, strings.Repeat("y", 10), got[1])
}

func TestLogTailUnreadable(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		// root reads everything; the path is a directory instead.
		dir := t.TempDir()
		lt, err := NewLogTail(dir)
		require.NoError(t, err)
		defer lt.Close()
		assert.Error(t, lt.Poll(func(string) {}))
		return
	}
	path := filepath.Join(t.TempDir(), "wso2carbon.log")
	appendFile(t, path, "x\n")
	require.NoError(t, os.Chmod(path, 0))
	_, err := NewLogTail(path)
	assert.Error(t, err)
}
