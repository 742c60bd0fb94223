package validate

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestChecksDocInSync keeps docs/checks.md equal to the registry's
// reference. Regenerate with: carbonguard checks --format markdown > docs/checks.md
// (or go test ./validate -run ChecksDoc -update).
func TestChecksDocInSync(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteMarkdown(&b, Registry()))
	path := filepath.Join("..", "docs", "checks.md")
	if *update {
		require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
		return
	}
	have, err := os.ReadFile(path)
	require.NoError(t, err, "docs/checks.md is missing: run carbonguard checks --format markdown > docs/checks.md")
	if string(have) != b.String() {
		t.Errorf("docs/checks.md is out of date with the registry: run carbonguard checks --format markdown > docs/checks.md\n%s", firstDiff(string(have), b.String()))
	}
}
