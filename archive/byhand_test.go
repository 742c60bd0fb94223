package archive

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The script in docs/recover-by-hand.md restores a format-3 snapshot with
// standard tools only, bit for bit: links, hard links, modes, times,
// owners, names that are not UTF-8, content spread over several snapshots'
// packs.
func TestRecoverByHand(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "jq", "zstd", "dd", "base64", "sha256sum", "tac"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed by docs/recover-by-hand.md and this test: install it (Debian: apt-get install jq zstd); .ci/run does", tool)
		}
	}
	doc, err := os.ReadFile("../docs/recover-by-hand.md")
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)<!-- recover-by-hand script: begin -->\n```bash\n(.*?)```\n<!-- recover-by-hand script: end -->").FindSubmatch(doc)
	require.NotNil(t, m, "the script's markers in docs/recover-by-hand.md")
	script := filepath.Join(t.TempDir(), "recover-snapshot")
	require.NoError(t, os.WriteFile(script, m[1], 0o755))

	s, _ := openTestStore(t)
	root := filepath.Join(t.TempDir(), "pack")
	chainTree(t, root)
	require.NoError(t, os.Symlink("/var/log/wso2am", filepath.Join(root, "repository/logs")))
	require.NoError(t, os.WriteFile(filepath.Join(root, "caf\xe9 \x01.txt"), []byte("latin-1"), 0o640))
	m1 := createSnap(t, s, root, CreateOptions{Now: later(0)})
	// A second snapshot whose content lies in both snapshots' packs.
	require.NoError(t, os.WriteFile(filepath.Join(root, "lib/random.bin"), randomBytes(5, 3<<20), 0o644))
	require.NoError(t, os.Chmod(filepath.Join(root, "conf"), 0o555))
	want := describe(t, root)
	m2 := createSnap(t, s, root, CreateOptions{Now: later(1)})
	require.NotEmpty(t, m1.NewPacks)
	require.NotEmpty(t, m2.NewPacks)

	target := filepath.Join(t.TempDir(), "restored")
	out, err := exec.Command("bash", script, s.Dir(), m2.ID, target).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, want, describe(t, target))
}
