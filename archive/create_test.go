package archive

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCreateVerifyList(t *testing.T) {
	t.Parallel()
	for _, comp := range []string{CompressionZstd, CompressionGzip} {
		t.Run(comp, func(t *testing.T) {
			t.Parallel()
			s, _ := openTestStore(t)
			root := filepath.Join(t.TempDir(), "pack")
			makeTree(t, root)
			m := createSnap(t, s, root, CreateOptions{Reason: "pre-update", Compression: comp, Meta: map[string]string{"product": "apim"}, ToolVersion: "test"})
			assert.Regexp(t, `^\d{8}T\d{6}Z-pre-update$`, m.ID)
			assert.Equal(t, comp, m.Compression)
			rep, err := s.Verify(context.Background(), m.ID, nil)
			require.NoError(t, err)
			assert.Equal(t, m.Entries, rep.Entries)
			list, err := s.List()
			require.NoError(t, err)
			require.Len(t, list, 1)
			assert.Equal(t, m.ID, list[0].ID)
			assert.Equal(t, m.Entries, list[0].Entries)
			require.NotNil(t, list[0].Verified)
			assert.True(t, list[0].Verified.OK)
		})
	}
}
