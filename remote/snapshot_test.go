package remote

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/internal/testsrv"
)

// packTree writes a small pack-like tree: files, an executable, a symlink,
// an empty directory.
func packTree(t *testing.T, root string) {
	t.Helper()
	files := map[string]string{
		"bin/api-manager.sh":                         "#!/bin/sh\necho start\n",
		"repository/conf/deployment.toml":            "[server]\nhostname = \"apim.example.com\"\n",
		"repository/components/plugins/a_1.0.jar":    strings.Repeat("jar-a ", 50000),
		"repository/components/plugins/b_1.0.jar":    strings.Repeat("jar-b ", 70000),
		"repository/deployment/server/api/api1.xml":  "<api name=\"one\"/>\n",
		"repository/resources/security/keystore.jks": "\x00\x01binary\xff",
	}
	for rel, text := range files {
		p := filepath.Join(root, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	}
	require.NoError(t, os.Chmod(filepath.Join(root, "bin/api-manager.sh"), 0o755))
	require.NoError(t, os.Chmod(filepath.Join(root, "repository/resources/security/keystore.jks"), 0o600))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "repository/logs"), 0o750))
	require.NoError(t, os.Symlink("../conf/deployment.toml", filepath.Join(root, "repository/deployment/current.toml")))
}

func openStore(t *testing.T, dir string) *archive.Store {
	t.Helper()
	s, err := archive.OpenStore(dir, zerolog.Nop())
	require.NoError(t, err)
	return s
}

// TestSnapshotRoundTrip: a snapshot with a dump attachment pushed from one
// store, pulled into another (a fresh state directory), verified and
// restored to another path: the tree and the dump are bit for bit the
// originals. A second push of the same snapshot sends nothing.
func TestSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	r := newRepo(t, filepath.Join(t.TempDir(), "repo"))
	home := filepath.Join(t.TempDir(), "wso2am-4.2.0")
	packTree(t, home)
	src := openStore(t, filepath.Join(t.TempDir(), "state", "snapshots"))
	dump := bytes.Repeat([]byte("PGDMP dump of apim_db "), 10000)
	m, err := src.Create(ctx(t), home, archive.CreateOptions{Reason: "pre-update", Meta: map[string]string{"update_level": "12"},
		Attachments: []archive.AttachmentSource{{Name: "apim_db.pgdump", Write: func(_ context.Context, w io.Writer) error {
			_, err := w.Write(dump)
			return err
		}}}})
	require.NoError(t, err)

	meta := Meta{Pack: "wso2am-4.2.0", Home: home, Reason: m.Reason, Level: "12"}
	rep, err := r.PushSnapshot(ctx(t), src, m.ID, meta)
	require.NoError(t, err)
	assert.False(t, rep.AlreadyThere)
	again, err := r.PushSnapshot(ctx(t), src, m.ID, meta)
	require.NoError(t, err)
	assert.True(t, again.AlreadyThere)

	// The stream is two tars: GNU tar reads both with --ignore-zeros.
	s, err := r.Find(ctx(t), "", m.ID)
	require.NoError(t, err)
	var raw bytes.Buffer
	require.NoError(t, r.Pull(ctx(t), s, func(rd io.Reader) error { _, err := io.Copy(&raw, rd); return err }))
	names := tarNames(t, raw.Bytes())
	assert.Equal(t, []string{".carbonguard/manifest.jsonl", ".carbonguard/attachments/apim_db.pgdump"}, names[:2])
	assert.Contains(t, names, "repository/conf/deployment.toml")
	if gnu, err := exec.LookPath("tar"); err == nil {
		dir := t.TempDir()
		cmd := exec.Command(gnu, "-xif", "-", "-C", dir)
		cmd.Stdin = bytes.NewReader(raw.Bytes())
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
		assert.FileExists(t, filepath.Join(dir, ".carbonguard/attachments/apim_db.pgdump"))
		assert.FileExists(t, filepath.Join(dir, "bin/api-manager.sh"))
	}

	// The DR site: a fresh state directory, a different home path.
	dst := openStore(t, filepath.Join(t.TempDir(), "dr-state", "snapshots"))
	pulled, err := r.PullSnapshot(ctx(t), dst, s, t.TempDir(), archive.ImportOptions{})
	require.NoError(t, err)
	assert.Equal(t, m.ID, pulled.ID)
	_, err = dst.Verify(ctx(t), m.ID, nil)
	require.NoError(t, err)
	rc, err := dst.OpenAttachment(m.ID, "apim_db.pgdump")
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	rc.Close()
	require.NoError(t, err)
	assert.True(t, bytes.Equal(dump, got))
	target := filepath.Join(t.TempDir(), "dr", "wso2am-4.2.0")
	require.NoError(t, os.MkdirAll(target, 0o755))
	_, err = dst.Restore(ctx(t), m.ID, target, archive.RestoreOptions{})
	require.NoError(t, err)
	assert.Equal(t, testsrv.TreeDigest(t, home), testsrv.TreeDigest(t, target))

	// Pulling it again: it is there already.
	_, err = r.PullSnapshot(ctx(t), dst, s, t.TempDir(), archive.ImportOptions{})
	var ee *archive.ExistsError
	require.ErrorAs(t, err, &ee)
}

// TestPullRefusesAMismatch: a stream whose bytes differ from what the push
// recorded is refused before the snapshot is listed.
func TestPullRefusesAMismatch(t *testing.T) {
	t.Parallel()
	r := newRepo(t, filepath.Join(t.TempDir(), "repo"))
	home := filepath.Join(t.TempDir(), "wso2am-4.2.0")
	packTree(t, home)
	src := openStore(t, filepath.Join(t.TempDir(), "snapshots"))
	m, err := src.Create(ctx(t), home, archive.CreateOptions{})
	require.NoError(t, err)
	rep, err := r.PushSnapshot(ctx(t), src, m.ID, Meta{Pack: "wso2am-4.2.0"})
	require.NoError(t, err)
	_, err = r.run(ctx(t), "tag", "--remove", tagSHA+rep.SHA256, "--add", tagSHA+strings.Repeat("0", 64), rep.ResticID)
	require.NoError(t, err)
	s, err := r.Find(ctx(t), "", m.ID)
	require.NoError(t, err)
	dst := openStore(t, filepath.Join(t.TempDir(), "snapshots"))
	_, err = r.PullSnapshot(ctx(t), dst, s, t.TempDir(), archive.ImportOptions{})
	var ce *CorruptError
	require.True(t, errors.As(err, &ce), "%v", err)
	list, err := dst.List()
	require.NoError(t, err)
	assert.Empty(t, list, "nothing listed")
}

func tarNames(t *testing.T, b []byte) []string {
	t.Helper()
	var names []string
	rd := bytes.NewReader(b)
	for part := 0; part < 2; part++ {
		tr := tar.NewReader(rd)
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			names = append(names, hdr.Name)
		}
	}
	return names
}
